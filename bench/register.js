// Runs bench/*.ts straight from source: swc compiles each TypeScript file on require (with the
// project's .swcrc, as test/jest-transform.js does for jest) and @herald/<lib> resolves to
// libs/<lib>/src, as tsconfig.json's paths say. node_modules load as they are.
const fs = require('fs');
const Module = require('module');
const path = require('path');
const { transformSync } = require('@swc/core');

const root = path.join(__dirname, '..');
const swcrc = JSON.parse(fs.readFileSync(path.join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const lib = /^@herald\/([\w-]+)$/.exec(request);
  if (lib) return resolve.call(this, path.join(root, 'libs', lib[1], 'src'), ...rest);
  try {
    return resolve.call(this, request, ...rest);
  } catch (error) {
    // the generated Prisma client imports its TypeScript siblings as './x.js' (jest.config.js maps them too)
    if (!/^\.{1,2}\/.*\.js$/.test(request)) throw error;
    return resolve.call(this, request.slice(0, -3), ...rest);
  }
};

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    ...swcrc,
    filename,
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};
