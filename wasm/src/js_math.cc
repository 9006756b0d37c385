// The libm functions the library calls, taken from the JS engine's Math
// instead of musl: musl's versions and their tables (sin/cos range reduction,
// exp/log/pow data) take about 5 KB of the gzipped module, which the size
// budget needs for the attention mechanisms (docs/wasm.md, "Size"). V8's and
// SpiderMonkey's Math functions are fdlibm ports, as musl's are; results may
// differ from the native build's glibc in the last bit, as musl's do.
// Defining the C names here keeps libc's objects out of the link; LLVM may
// turn sin/cos pairs into sincos and exp/log idioms into others, so those are
// defined too.
#define RVD_JS_MATH(name) __attribute__((import_module("env"), import_name("Math_" #name)))

extern "C" {
RVD_JS_MATH(sin) double rvd_js_sin(double);
RVD_JS_MATH(cos) double rvd_js_cos(double);
RVD_JS_MATH(exp) double rvd_js_exp(double);
RVD_JS_MATH(log) double rvd_js_log(double);
RVD_JS_MATH(log10) double rvd_js_log10(double);
RVD_JS_MATH(pow) double rvd_js_pow(double, double);
RVD_JS_MATH(acosh) double rvd_js_acosh(double);

double sin(double x) { return rvd_js_sin(x); }
double cos(double x) { return rvd_js_cos(x); }
void sincos(double x, double* s, double* c) {
  *s = rvd_js_sin(x);
  *c = rvd_js_cos(x);
}
double exp(double x) { return rvd_js_exp(x); }
double log(double x) { return rvd_js_log(x); }
double log10(double x) { return rvd_js_log10(x); }
double pow(double x, double y) { return rvd_js_pow(x, y); }
double acosh(double x) { return rvd_js_acosh(x); }
}
