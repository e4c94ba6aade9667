// Run first by `npm start` and `npm test`: on an older Node they stop here with one line, instead of
// failing later somewhere less clear. Plain CommonJS with old syntax, so that any Node can run it.
'use strict';
var NEEDED = [22, 12];
var parts = process.versions.node.split('.').map(Number);
var ok = parts[0] > NEEDED[0] || (parts[0] === NEEDED[0] && parts[1] >= NEEDED[1]);
if (!ok) {
  console.error(
    'Herald needs Node.js ' +
      NEEDED.join('.') +
      ' or later (22 or 24 LTS); this is ' +
      process.version +
      '. Install it from https://nodejs.org, or with nvm: nvm install 24',
  );
  process.exit(1);
}
