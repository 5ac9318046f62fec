/*
 * test-estimate.c - the a-priori run-time estimates behind the long-run
 * warnings (host/cli/estimate.c): the sim device's trace mode (compare's
 * default) runs images one at a time and streams every trace bit, so a traced
 * image of the default network costs about two orders of magnitude more than
 * an untraced one, and the warning must say so; the other devices trace at no
 * cost worth a warning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cli/estimate.h"
#include "deploy/snn-deploy.h"
#include "fold/snn-fold.h"
#include "snn-pipe.h"

static void test_trace_mode(void **state)
{
    (void)state;
    if (!snn_pipe_config_find(SNN_PIPE_DEFAULT_CONFIG)) {
        skip(); /* a build without mk/sim.mk's configuration table (sanitizers) */
    }
    uint8_t *img;
    size_t size;
    /* the default network's shape: it fits the card configuration */
    assert_int_equal(snn_deploy_random(1, "c32,c32,p,c64,p,f128", 1, 28, 28, 4, 10, 0, &img, &size),
                     SNN_OK);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    snn_dev_opts o;
    snn_dev_opts_init(&o);
    double run = snn_est_device_image_seconds(&net, "sim", &o);
    double trace = snn_est_trace_image_seconds(&net, "sim", &o);
    assert_true(run > 0);
    /* measured: about 670,000 cycles for a traced image against about 4,100
     * (the interval) untraced; the untraced estimate is a stage's work
     * without the other stages' overlap, so the ratio is not exact */
    assert_true(trace > 30 * run);
    assert_true(trace < 1000 * run);
    /* the other devices: nothing to add */
    assert_true(snn_est_trace_image_seconds(&net, "ref", &o) == 0);
    assert_true(snn_est_trace_image_seconds(&net, "csim", &o) == 0);
    assert_true(snn_est_trace_image_seconds(&net, "xrt", &o) == 0);
    /* an unknown configuration: no estimate rather than a wrong one */
    o.config = "no-such-config";
    assert_true(snn_est_trace_image_seconds(&net, "sim", &o) == 0);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trace_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
