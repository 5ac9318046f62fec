/*
 * test-mpi.c - the MPI layer (host/common/snn-mpi.h) outside a launcher:
 * the launcher detection from the environment, and a world of one process
 * (rank 0 of 1, collectives leave the buffers as they are, agreement) in
 * builds with and without MPI. The multi-rank behaviour is tested under
 * mpirun by tests/mpi-train.sh (make test-train-mpi) and tests/mpi-eval.sh
 * (make test-eval-mpi: local rank, gather).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/snn-mpi.h"

static const char *launcher_vars[] = {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                                      "PMIX_SIZE", "PMI_RANK", "PMI_SIZE"};

static void clear_launcher(void)
{
    for (size_t i = 0; i < sizeof launcher_vars / sizeof launcher_vars[0]; i++)
        unsetenv(launcher_vars[i]);
}

static void test_launcher_detection(void **state)
{
    (void)state;
    clear_launcher();
    assert_int_equal(snn_mpi_launched(), 0);
    assert_int_equal(snn_mpi_launched_rank(), 0);
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);
    setenv("OMPI_COMM_WORLD_RANK", "2", 1);
    assert_int_equal(snn_mpi_launched(), 3);
    assert_int_equal(snn_mpi_launched_rank(), 2);
    clear_launcher();
    setenv("PMI_RANK", "0", 1); /* a launcher that names no size: at least one */
    assert_int_equal(snn_mpi_launched(), 1);
    setenv("PMI_SIZE", "4", 1);
    assert_int_equal(snn_mpi_launched(), 4);
    clear_launcher();
    setenv("PMIX_RANK", "1", 1);
    assert_int_equal(snn_mpi_launched(), 1);
    assert_int_equal(snn_mpi_launched_rank(), 1);
    clear_launcher();
    setenv("OMPI_COMM_WORLD_SIZE", "x2", 1); /* not a number: not a launcher's */
    assert_int_equal(snn_mpi_launched(), 0);
    clear_launcher();
}

/* Without MPI, a launcher that started several copies is refused. */
static void test_serial_build_refuses_ranks(void **state)
{
    (void)state;
    if (snn_mpi_built()) skip();
    clear_launcher();
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    assert_int_equal(snn_mpi_init(), SNN_ERR_ARG);
    assert_non_null(strstr(snn_last_error(), "built without MPI"));
    clear_launcher();
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1); /* mpirun -n 1: one process, fine */
    assert_int_equal(snn_mpi_init(), SNN_OK);
    clear_launcher();
}

static void test_world_of_one(void **state)
{
    (void)state;
    clear_launcher();
    assert_int_equal(snn_mpi_init(), SNN_OK); /* not launched: MPI is not initialised */
    assert_int_equal(snn_mpi_init(), SNN_OK); /* idempotent */
    assert_int_equal(snn_mpi_rank(), 0);
    assert_int_equal(snn_mpi_size(), 1);
    assert_int_equal(snn_mpi_local_size(), 1);
    assert_int_equal(snn_mpi_local_rank(), 0);
    snn_mpi_stats_reset();

    float f[3] = {1.5f, -2.0f, 3.25f};
    double d[2] = {0.125, 1e300};
    uint64_t u[2] = {7, UINT64_MAX};
    assert_int_equal(snn_mpi_allreduce_f32(f, 3), SNN_OK);
    assert_int_equal(snn_mpi_allreduce_f64(d, 2), SNN_OK);
    assert_int_equal(snn_mpi_allreduce_u64(u, 2), SNN_OK);
    assert_int_equal(snn_mpi_allreduce_max_f64(d, 2), SNN_OK);
    assert_int_equal(snn_mpi_reduce_f64(d, 2, 0), SNN_OK);
    assert_int_equal(snn_mpi_reduce_u64(u, 2, 0), SNN_OK);
    assert_true(f[0] == 1.5f && f[1] == -2.0f && f[2] == 3.25f);
    assert_true(d[0] == 0.125 && d[1] == 1e300);
    assert_true(u[0] == 7 && u[1] == UINT64_MAX);
    char buf[4] = "abc";
    assert_int_equal(snn_mpi_bcast(buf, sizeof buf, 0), SNN_OK);
    assert_string_equal(buf, "abc");
    char all[4] = "";
    assert_int_equal(snn_mpi_gather(buf, sizeof buf, all, 0), SNN_OK); /* rank 0's own */
    assert_string_equal(all, "abc");
    assert_int_equal(snn_mpi_barrier(), SNN_OK);
    assert_int_equal(snn_mpi_agree(0), -1);
    assert_int_equal(snn_mpi_agree(1), 0);
    /* a world of one sends nothing */
    snn_mpi_stats_t s;
    snn_mpi_stats(&s);
    assert_int_equal(s.calls, 0);
    assert_int_equal(s.bytes, 0);
    snn_mpi_finalize();
    snn_mpi_finalize(); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_launcher_detection),
        cmocka_unit_test(test_serial_build_refuses_ranks),
        cmocka_unit_test(test_world_of_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
