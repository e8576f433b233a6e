'use strict';

// Our client must parse in IE6-era engines: ECMAScript 3 syntax (acorn with `ecmaVersion: 3`,
// reserved words refused even as property names), no trailing commas (IE miscounts array
// lengths and rejects them in objects), ASCII only, no ES5 built-ins, and the native JSON
// object touched only inside the guard that falls back to the bundled parser. Checked on the
// script ferrio serves (the parts of static/client joined by build.rs), since only the whole
// script is a program: the parts are fragments of one function.

const assert = require('node:assert/strict');
const { describe, test } = require('node:test');

const acorn = require('acorn');

const { fetchServedClient } = require('./served-client');

/** ES5+ built-ins an ES3 engine lacks (the client has util.indexOf, util.now, … instead). */
const BANNED = [
  [/\.forEach\s*\(/, 'Array.prototype.forEach'],
  [/\.map\s*\(/, 'Array.prototype.map'],
  [/\.filter\s*\(/, 'Array.prototype.filter'],
  [/\.reduce(Right)?\s*\(/, 'Array.prototype.reduce'],
  [/\.some\s*\(/, 'Array.prototype.some'],
  [/\.every\s*\(/, 'Array.prototype.every'],
  [/(?<!\butil)\.(lastI|i)ndexOf\s*\(/, 'indexOf (ES5 on arrays; use util.indexOf)'],
  [/\bArray\.isArray\b/, 'Array.isArray'],
  [/\bObject\.(keys|create|defineProperty|defineProperties|getPrototypeOf|getOwnPropertyNames|freeze|seal|assign)\b/, 'ES5 Object functions'],
  [/\.bind\s*\(/, 'Function.prototype.bind'],
  [/\bDate\.now\b/, 'Date.now'],
  [/\.toISOString\s*\(/, 'Date.prototype.toISOString'],
  [/\.trim(Left|Right|Start|End)?\s*\(/, 'String.prototype.trim'],
  [/\.(startsWith|endsWith|includes|repeat|padStart|padEnd)\s*\(/, 'ES2015 string methods'],
  [/\b(Promise|Symbol|Map|Set|WeakMap|Proxy|Reflect)\b/, 'ES2015 globals'],
  [/\bArray\.(from|of)\b/, 'ES2015 Array functions'],
];

/** Problems of `source` as a list of strings (empty: fine). */
function es3Problems(source) {
  const problems = [];
  const comments = [];
  try {
    acorn.parse(source, { ecmaVersion: 3, allowReserved: 'never', sourceType: 'script', onComment: comments });
  } catch (error) {
    problems.push(`not ECMAScript 3: ${error.message}`);
    return problems;
  }

  // Trailing commas: ',' directly before ']' or '}'.
  let previous = null;
  for (const token of acorn.tokenizer(source, { ecmaVersion: 3, allowReserved: 'never' })) {
    if (previous && previous.type.label === ',' && (token.type.label === ']' || token.type.label === '}')) {
      problems.push(`trailing comma at offset ${previous.start}`);
    }
    previous = token;
  }

  // eslint-disable-next-line no-control-regex
  const nonAscii = /[^\x00-\x7f]/.exec(source);
  if (nonAscii) problems.push(`non-ASCII character at offset ${nonAscii.index} (use \\u escapes)`);

  // The code without comments (same offsets).
  let code = source;
  for (const c of comments) code = code.slice(0, c.start) + ' '.repeat(c.end - c.start) + code.slice(c.end);
  const lineOf = (offset) => source.slice(0, offset).split('\n').length;

  for (const [re, what] of BANNED) {
    const global = new RegExp(re.source, 'g');
    for (const m of code.matchAll(global)) problems.push(`${what} at line ${lineOf(m.index)}: ${m[0]}`);
  }

  // JSON: the native object only inside the guard; elsewhere io.JSON.
  const begin = source.indexOf('// BEGIN JSON GUARD');
  const end = source.indexOf('// END JSON GUARD');
  for (const m of code.matchAll(/\bJSON\b/g)) {
    const inGuard = begin >= 0 && end > begin && m.index > begin && m.index < end;
    const viaIo = code.slice(Math.max(0, m.index - 3), m.index) === 'io.';
    if (!inGuard && !viaIo) problems.push(`JSON outside the fallback guard at line ${lineOf(m.index)}`);
  }
  return problems;
}

describe('the client ferrio serves is ECMAScript 3', async () => {
  const SOURCE = await fetchServedClient();

  test('the checker catches what it looks for', () => {
    const bad = {
      'var a = [1, 2,];': /trailing comma/,
      'var o = { a: 1, };': /not ECMAScript 3/,
      'var o = { get a() { return 1; } };': /not ECMAScript 3/,
      'let a = 1;': /not ECMAScript 3/,
      'var f = (x) => x;': /not ECMAScript 3/,
      'o.delete(1);': /not ECMAScript 3/,
      'var o = { default: 1 };': /not ECMAScript 3/,
      'var native = 1;': /not ECMAScript 3/,
      'a.forEach(f);': /forEach/,
      'var k = Object.keys(o);': /Object functions/,
      'var g = f.bind(o);': /bind/,
      'var t = Date.now();': /Date\.now/,
      "var s = ' a '.trim();": /trim/,
      'var i = a.indexOf(1);': /indexOf/,
      'var j = JSON.parse(s);': /JSON outside/,
      "var e = '\u00e9';": /non-ASCII/,
    };
    for (const [snippet, expected] of Object.entries(bad)) {
      const problems = es3Problems(snippet);
      assert.ok(problems.some((p) => expected.test(p)), `${snippet} → ${JSON.stringify(problems)}`);
    }
    assert.deepEqual(es3Problems('// BEGIN JSON GUARD\nvar n = window.JSON;\n// END JSON GUARD\nvar s = io.JSON.stringify(1);'), []);
  });

  test('parses as ES3 and uses no ES5 built-ins', () => {
    assert.deepEqual(es3Problems(SOURCE), []);
  });

  test('is one IIFE that defines io (and registers with AMD)', () => {
    const ast = acorn.parse(SOURCE, { ecmaVersion: 3, sourceType: 'script' });
    assert.equal(ast.body.length, 1, 'one statement');
    const [statement] = ast.body;
    assert.equal(statement.type, 'ExpressionStatement');
    assert.equal(statement.expression.type, 'CallExpression');
    assert.equal(statement.expression.callee.type, 'FunctionExpression');
    assert.match(SOURCE, /global\.io = io;/);
    assert.match(SOURCE, /define\.amd/);
  });

  test('has the JSON guard and the fallback in it', () => {
    const begin = SOURCE.indexOf('// BEGIN JSON GUARD');
    const end = SOURCE.indexOf('// END JSON GUARD');
    assert.ok(begin > 0 && end > begin);
    assert.match(SOURCE.slice(begin, end), /function parse\(/);
    assert.match(SOURCE.slice(begin, end), /function stringify\(/);
  });
});

module.exports = { es3Problems };
