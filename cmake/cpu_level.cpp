// Configure-time probe (CMakeLists.txt, SCEE_ARCH=auto): exits 0 when the building machine runs x86-64-v3 code.
int main()
{
  __builtin_cpu_init();
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2") &&
                  __builtin_cpu_supports("avx") && __builtin_cpu_supports("popcnt");
  return v3 ? 0 : 1;
}
