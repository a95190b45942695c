'use strict';
// Argument checks with Node's own error shapes: a TypeError (code ERR_INVALID_ARG_TYPE) or a
// RangeError (ERR_OUT_OF_RANGE, ERR_INVALID_ARG_VALUE) whose message names the argument.

const { inspect } = require('node:util');

function describe(value) {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const name = value.constructor?.name;
    return name ? `an instance of ${name}` : inspect(value, { depth: 0 });
  }
  let shown = inspect(value, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

function typeError(name, expected, value) {
  const error = new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(value)}`);
  error.code = 'ERR_INVALID_ARG_TYPE';
  return error;
}

function rangeError(name, expected, value) {
  const error = new RangeError(`The value of "${name}" is out of range. It must be ${expected}. Received ${inspect(value)}`);
  error.code = 'ERR_OUT_OF_RANGE';
  return error;
}

function valueError(name, expected, value) {
  const error = new TypeError(`The argument '${name}' ${expected}. Received ${inspect(value)}`);
  error.code = 'ERR_INVALID_ARG_VALUE';
  return error;
}

function string(value, name) {
  if (typeof value !== 'string') throw typeError(name, 'of type string', value);
  return value;
}

function boolean(value, name) {
  if (typeof value !== 'boolean') throw typeError(name, 'of type boolean', value);
  return value;
}

function func(value, name) {
  if (typeof value !== 'function') throw typeError(name, 'of type function', value);
  return value;
}

function object(value, name) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw typeError(name, 'of type object', value);
  return value;
}

/** A whole number in [min, max]. */
function integer(value, name, min = 0, max = Number.MAX_SAFE_INTEGER) {
  if (typeof value !== 'number') throw typeError(name, 'of type number', value);
  if (!Number.isInteger(value) || value < min || value > max) throw rangeError(name, `an integer >= ${min} and <= ${max}`, value);
  return value;
}

const UINT32_MAX = 2 ** 32 - 1;

/** A duration in milliseconds, rounded to a whole number that fits the C ABI's uint32_t. */
function milliseconds(value, name) {
  if (typeof value !== 'number') throw typeError(name, 'of type number', value);
  if (!Number.isFinite(value) || value < 0 || value > UINT32_MAX) {
    throw rangeError(name, `a number of milliseconds >= 0 and <= ${UINT32_MAX}`, value);
  }
  return Math.round(value);
}

/** One of the keys of `choices` (a name -> C enum value map). */
function choice(value, name, choices) {
  if (typeof value === 'string' && Object.hasOwn(choices, value)) return choices[value];
  const names = Object.keys(choices).map((c) => `'${c}'`).join(', ');
  if (typeof value !== 'string') throw typeError(name, `one of ${names}`, value);
  throw valueError(name, `must be one of ${names}`, value);
}

module.exports = { describe, typeError, rangeError, valueError, string, boolean, func, object, integer, milliseconds, choice };
