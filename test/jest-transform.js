// Jest on Node 20 cannot require() ES modules, and NestJS 12 (with several of the packages it
// pulls in) ships ESM only. This transformer compiles our TypeScript with swc and turns only
// the ESM files of node_modules (and CommonJS files using import()) into CommonJS; CommonJS packages pass through untouched.
const { createTransformer } = require('@swc/jest');
const fs = require('fs');
const path = require('path');

const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '.swcrc'), 'utf8'));
delete swcrc.$schema;
const swc = createTransformer(swcrc);
const esmSyntax = /^\s*(import\s*[\w{*'"]|export\s+[\w{*]|export\s+default)/m;
// Jest's CommonJS runtime rejects dynamic import() without --experimental-vm-modules; swc rewrites
// it to require() (google-auth-library loads its key files this way).
const dynamicImport = /\bimport\(/;

function needsTransform(filename, source) {
  return isEsm(filename, source) || dynamicImport.test(source);
}

function isEsm(filename, source) {
  if (filename.endsWith('.mjs')) return true;
  if (filename.endsWith('.cjs')) return false;
  return esmSyntax.test(source);
}

module.exports = {
  canInstrument: false,
  getCacheKey(source, filename, options) {
    return swc.getCacheKey(source, filename, options) + (needsTransform(filename, source) ? ':swc' : ':raw');
  },
  process(source, filename, options) {
    if (filename.includes(`${path.sep}node_modules${path.sep}`) && !needsTransform(filename, source)) {
      return { code: source };
    }
    return swc.process(source, filename, options);
  },
};
