// `npm run dev`: Herald all-in-one (as `npm start`) that rebuilds and restarts itself when a source
// file changes, for people changing Herald. A change while a build runs starts another build after it;
// a build that fails leaves the last good Herald stopped and waits for the next change.
// Plain CommonJS, so it runs before anything is compiled.
'use strict';
var childProcess = require('node:child_process');
var fs = require('node:fs');
var path = require('node:path');
var timers = require('node:timers');
var buildState = require('./build-state');

var root = path.join(__dirname, '..');
var WATCHED = ['apps', 'libs', 'prisma'];
var IGNORED = /(^|[\\/])(node_modules|generated|dist)([\\/]|$)|\.tsbuildinfo$|~$/;
var DEBOUNCE_MS = 300;

var herald = null;
var building = false;
var again = false;
var timer = null;
var stopping = false;

function say(line) {
  console.log('[dev] ' + line);
}

function build(reason) {
  say('building (' + reason + ') …');
  var result = childProcess.spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build', '--silent'], {
    cwd: root,
    stdio: 'inherit',
  });
  return result.status === 0;
}

function start() {
  herald = childProcess.spawn(process.execPath, [path.join(root, 'dist', 'apps', 'herald', 'src', 'main.js')], {
    cwd: root,
    stdio: 'inherit',
    env: process.env,
    // Its own process group: Ctrl-C reaches this script only, which stops Herald once (SIGTERM, drained).
    detached: true,
  });
  var child = herald;
  child.on('exit', function (code, signal) {
    if (herald === child) herald = null;
    if (!stopping && code !== null && code !== 0) say('Herald exited with ' + code + ': waiting for a change');
    void signal;
  });
}

function stop(then) {
  if (!herald) return then();
  var child = herald;
  herald = null;
  child.once('exit', function () {
    then();
  });
  child.kill('SIGTERM');
}

function rebuild(file) {
  if (building) {
    again = true;
    return;
  }
  building = true;
  stop(function () {
    var ok = build(file + ' changed');
    building = false;
    if (again) {
      again = false;
      return rebuild('more files');
    }
    if (ok) {
      say('restarting');
      start();
    } else {
      say('the build failed: waiting for a change');
    }
  });
}

function changed(file) {
  if (!file || IGNORED.test(file)) return;
  timers.clearTimeout(timer);
  timer = timers.setTimeout(function () {
    rebuild(file);
  }, DEBOUNCE_MS);
}

var stale = buildState.buildStaleness(root);
if (stale && !build(stale)) {
  say('the build failed: fix it and run npm run dev again');
  process.exit(1);
}
WATCHED.forEach(function (dir) {
  fs.watch(path.join(root, dir), { recursive: true }, function (_event, name) {
    changed(name && path.join(dir, String(name)));
  });
});
say('watching ' + WATCHED.join(', ') + ': a change rebuilds and restarts Herald');
start();

['SIGINT', 'SIGTERM'].forEach(function (signal) {
  process.on(signal, function () {
    stopping = true;
    stop(function () {
      process.exit(0);
    });
  });
});
