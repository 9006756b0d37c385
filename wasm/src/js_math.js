// Declares to emscripten's linker the Math imports of src/js_math.cc; the
// module is standalone, so the functions themselves come from the imports
// object of wasm/js/ruvector_dag.mjs, not from this file.
mergeInto(LibraryManager.library, {
  Math_sin: function (x) { return Math.sin(x); },
  Math_cos: function (x) { return Math.cos(x); },
  Math_exp: function (x) { return Math.exp(x); },
  Math_log: function (x) { return Math.log(x); },
  Math_log10: function (x) { return Math.log10(x); },
  Math_pow: function (x, y) { return Math.pow(x, y); },
  Math_acosh: function (x) { return Math.acosh(x); },
});
