// Whether dist/ must be built again, as make would decide: a source file newer than the oldest thing built.
// Shared by `npm start` (scripts/build-if-stale.js: start at once when dist/ is current) and the tests'
// ensureBuilt (test/helpers/processes.ts). Plain CommonJS, so it runs before anything is compiled.
'use strict';
var fs = require('node:fs');
var path = require('node:path');

/** What the build reads. The Prisma client under libs/db/src/generated is made from prisma/schema.prisma. */
var SOURCES = [
  'apps',
  'libs',
  'scripts',
  'prisma',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
];
var GENERATED = path.join('libs', 'db', 'src', 'generated');
/** Folders under the sources that are not sources: installed packages and built output (libs/mcp/dist, say). */
var SKIPPED = ['node_modules', 'dist'];
/** What the build makes: the three entry points and the console's page. */
var BUILT = [
  path.join('dist', 'apps', 'herald', 'src', 'main.js'),
  path.join('dist', 'apps', 'api', 'src', 'main.js'),
  path.join('dist', 'apps', 'worker', 'src', 'main.js'),
  path.join('dist', 'console', 'index.html'),
];

/** Why dist/ under `root` needs a build (e.g. "libs/db/src/x.ts changed since the last build"), or null. */
function buildStaleness(root) {
  var times = BUILT.map(function (file) {
    var stat = fs.statSync(path.join(root, file), { throwIfNoEntry: false });
    return stat ? stat.mtimeMs : 0;
  });
  var built = Math.min.apply(null, times);
  if (built === 0) return 'dist/ has not been built yet';
  for (var i = 0; i < SOURCES.length; i++) {
    var found = newest(path.join(root, SOURCES[i]));
    if (found.mtimeMs > built) return path.relative(root, found.file) + ' changed since the last build';
  }
  return null;
}

function newest(file) {
  var stat = fs.statSync(file, { throwIfNoEntry: false });
  if (!stat) return { file: file, mtimeMs: 0 };
  if (!stat.isDirectory()) return { file: file, mtimeMs: stat.mtimeMs };
  if (file.endsWith(GENERATED) || SKIPPED.indexOf(path.basename(file)) !== -1) return { file: file, mtimeMs: 0 };
  return fs
    .readdirSync(file)
    .map(function (name) {
      return newest(path.join(file, name));
    })
    .reduce(
      function (a, b) {
        return b.mtimeMs > a.mtimeMs ? b : a;
      },
      { file: file, mtimeMs: 0 },
    );
}

module.exports = { buildStaleness: buildStaleness, SOURCES: SOURCES, BUILT: BUILT };
