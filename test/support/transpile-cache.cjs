/**
 * A require hook for the Certex processes that tests start (`node -r ./test/support/transpile-cache.cjs
 * src/main.ts`): TypeScript is turned into JavaScript file by file, as `ts-node/register/transpile-only`
 * does (ts.transpileModule with the project's tsconfig.json), but each result is kept on disk under
 * its content hash. A test run starts many such processes; only the first one that meets a source
 * loads the compiler and compiles it, the others read the result, which saves seconds per start.
 */
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const CACHE_DIR = path.join(os.tmpdir(), 'certex-transpiled');
const TSCONFIG = fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8');
const TS_VERSION = JSON.parse(fs.readFileSync(require.resolve('typescript/package.json', { paths: [ROOT] }), 'utf8')).version;
const SALT = `${TS_VERSION}\0${TSCONFIG}\0`;

let compile = null;

function compiler() {
  if (compile) return compile;
  const ts = require(require.resolve('typescript', { paths: [ROOT] }));
  const { options, errors } = ts.convertCompilerOptionsFromJson(JSON.parse(TSCONFIG).compilerOptions, ROOT);
  if (errors.length) throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(errors[0].messageText, '\n')}`);
  const compilerOptions = { ...options, sourceMap: false, inlineSourceMap: true, inlineSources: true, declaration: false, noEmit: false };
  compile = (source, fileName) => ts.transpileModule(source, { compilerOptions, fileName }).outputText;
  return compile;
}

function transpiled(source, fileName) {
  const key = createHash('sha256').update(SALT).update(fileName).update('\0').update(source).digest('hex');
  const cached = path.join(CACHE_DIR, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    const code = compiler()(source, fileName);
    // Written aside and renamed, so that a process starting at the same time never reads half a file.
    const partial = `${cached}.${process.pid}.partial`;
    try {
      fs.mkdirSync(CACHE_DIR, { recursive: true });
      fs.writeFileSync(partial, code);
      fs.renameSync(partial, cached);
    } catch {
      // A cache that cannot be written only costs time.
    }
    return code;
  }
}

// Stack traces name the TypeScript lines, as under ts-node.
process.setSourceMapsEnabled(true);

require.extensions['.ts'] = function loadTypeScript(module, fileName) {
  module._compile(transpiled(fs.readFileSync(fileName, 'utf8'), fileName), fileName);
};
