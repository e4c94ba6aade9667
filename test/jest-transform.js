// Jest on Node 20 cannot require() ES modules, and NestJS 12 (with several of the packages it
// pulls in) ships ESM only. This transformer compiles our TypeScript with swc and turns only
// the ESM files of node_modules into CommonJS; CommonJS packages pass through untouched.
const { createTransformer } = require('@swc/jest');
const fs = require('fs');
const path = require('path');

const swcrc = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '.swcrc'), 'utf8'));
delete swcrc.$schema;
const swc = createTransformer(swcrc);
const esmSyntax = /^\s*(import\s*[\w{*'"]|export\s+[\w{*]|export\s+default)/m;

function isEsm(filename, source) {
  if (filename.endsWith('.mjs')) return true;
  if (filename.endsWith('.cjs')) return false;
  return esmSyntax.test(source);
}

module.exports = {
  canInstrument: false,
  getCacheKey(source, filename, options) {
    return swc.getCacheKey(source, filename, options) + (isEsm(filename, source) ? ':esm' : ':cjs');
  },
  process(source, filename, options) {
    if (filename.includes(`${path.sep}node_modules${path.sep}`) && !isEsm(filename, source)) {
      return { code: source };
    }
    return swc.process(source, filename, options);
  },
};
