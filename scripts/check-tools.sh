#!/usr/bin/env bash
# check-tools.sh - prove that every tool and runtime the test suites use is
# present, by using each one once; each failure names the Debian package
# (listed in scripts/packages.txt) that provides it. Run by .ci/run right
# after scripts/deps.sh, so a package missing from packages.txt fails here,
# with its name, rather than deep inside a suite.
set -uo pipefail
cc=${CC:-gcc}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
bad=0
need() { # package, description, command...
    local pkg=$1 what=$2
    shift 2
    if "$@" >"$t/log" 2>&1; then
        printf '  ok   %-22s %s\n' "$pkg" "$what"
    else
        printf '  MISSING %-19s %s: %s\n' "$pkg" "$what" "$(head -c 300 "$t/log" | tr '\n' ' ')"
        bad=1
    fi
}
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return n > 1 && d[0] == 1 && d[1] == 2 ? 0 : 0; }\n' >"$t/fuzz.c"
printf 'int main(void) { int a[2] = {0, 1}; return a[1] - 1; }\n' >"$t/one.c"
printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\nstatic void t(void **s) { (void)s; assert_int_equal(1, 1); }\nint main(void) { const struct CMUnitTest ts[] = { cmocka_unit_test(t) }; return cmocka_run_group_tests(ts, NULL, NULL); }\n' >"$t/cm.c"
printf '#include <cblas.h>\n#include <zlib.h>\nint main(void) { float a = 1, b = 2, c = 0; cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1, &a, 1, &b, 1, 0, &c, 1); return c == 2 && zlibVersion() ? 0 : 1; }\n' >"$t/blas.c"

need build-essential "C compiler"            "$cc" -o "$t/one" "$t/one.c"
need build-essential "C++ compiler"          bash -c "printf 'int main(){}' | g++ -x c++ -o '$t/cxx' -"
need pkg-config      "pkg-config"            pkg-config --version
need libopenblas-dev "OpenBLAS + zlib link"  bash -c "'$cc' -o '$t/blas' '$t/blas.c' -lopenblas -lz && '$t/blas'"
need zlib1g-dev      "zlib header"           bash -c "printf '#include <zlib.h>\nint main(void){return 0;}\n' | '$cc' -x c -o '$t/z' - -lz"
need libcmocka-dev   "cmocka"                bash -c "'$cc' -o '$t/cm' '$t/cm.c' -lcmocka && '$t/cm'"
need clang           "clang"                 clang --version
need libclang-rt-14-dev "libFuzzer + ASan/UBSan runtimes" \
    clang -fsanitize=fuzzer,address,undefined -o "$t/fuzz" "$t/fuzz.c"
need libclang-rt-14-dev "fuzzer runs"        "$t/fuzz" -runs=10
need build-essential "gcc ASan/UBSan"        bash -c "'$cc' -fsanitize=address,undefined -o '$t/asan' '$t/one.c' && '$t/asan'"
need verilator       "Verilator"             verilator --version
need yosys           "Yosys"                 yosys -V
need gnuplot-nox     "gnuplot (PNG plots)"   bash -c "echo 'set terminal png; set output \"$t/p.png\"; plot x' | gnuplot"
need libxrt-dev      "XRT headers"           test -e /usr/include/xrt/xrt.h -o -e /usr/include/xrt.h -o -d /usr/include/xrt
need dataset-fashion-mnist "Fashion-MNIST"   test -r /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz
printf '#include <mpi.h>\nint main(int c, char **v) { int n = 0; MPI_Init(&c, &v); MPI_Comm_size(MPI_COMM_WORLD, &n); MPI_Finalize(); return n == 2 ? 0 : 1; }\n' >"$t/mpi.c"
need libopenmpi-dev  "MPI compiler wrapper"  bash -c "mpicc -o '$t/mpi' '$t/mpi.c'"
need openmpi-bin     "mpirun, 2 ranks"       env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    mpirun --oversubscribe --allow-run-as-root -n 2 "$t/mpi"
if [ $bad -ne 0 ]; then
    echo "check-tools: something the suites need is missing (install the package named above, or add it to scripts/packages.txt)" >&2
    exit 1
fi
echo "check-tools: every tool and runtime the suites use is present"
