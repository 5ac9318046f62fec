/*
 * test-energy.c - the energy model of `mpbn bench` (host/cli/energy.c,
 * docs/energy.md) on a network small enough to count by hand: every bit the
 * layer pipeline moves (weights per event, thresholds and biases per neuron,
 * spike-map reads and writes) and the non-spiking comparison.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cli/energy.h"
#include "deploy/snn-deploy.h"
#include "fold/snn-fold.h"

/* conv 1->4 on 4x4 (padding 1), 2x2 pool, fc 16->8, out 8->3; T = 2. */
static void test_hand_counted(void **state)
{
    (void)state;
    uint8_t *img;
    size_t size;
    assert_int_equal(snn_deploy_random(3, "c4,p,f8", 1, 4, 4, 2, 3, 0, &img, &size), SNN_OK);
    snn_net net;
    assert_int_equal(snn_deploy_parse(img, size, &net), SNN_OK);
    assert_int_equal(net.n_layers, 4);

    /* conv: 10 x 10 taps (edges reach fewer) x 4 outputs */
    assert_true(snn_energy_dense_macs(&net.layers[0]) == 400);
    /* spike maps: conv reads 100 pixel taps x 8 bits and read-modify-writes
     * its pooled output (64 neurons x T x 2); fc reads 16 x T, writes 8 x T;
     * out reads 8 x T and writes nothing (its sums stay in registers) */
    assert_true(snn_energy_map_bits(&net, 0) == 800 + 256);
    assert_true(snn_energy_map_bits(&net, 1) == 0);
    assert_true(snn_energy_map_bits(&net, 2) == 32 + 16);
    assert_true(snn_energy_map_bits(&net, 3) == 16);

    const double synops[4] = {10, 0, 40, 9}, events[4] = {10, 0, 20, 5};
    snn_energy_est e;
    snn_energy_estimate(&net, synops, events, &e);
    assert_true(e.snn_macs == 10 && e.snn_acs == 49);
    assert_true(e.neuron_steps == (64 + 8) * 2);
    assert_true(e.snn_events == 35 && e.snn_weight_bits == 280);
    assert_true(e.snn_param_bits == 72 * 33 + 75 * 32); /* thresholds conv+fc, biases all */
    assert_true(e.snn_map_bits == 1120);
    assert_float_equal(e.snn_int_pj, 0.3 * 10 + 0.1 * (49 + 144), 1e-9);
    assert_float_equal(e.snn_sram_pj, 10.0 / 64 * (280 + 4776 + 1120), 1e-9);
    assert_float_equal(e.snn_fp32_pj, 4.6 * 10 + 0.9 * 49, 1e-9);
    /* the non-spiking network: 400 + 128 + 24 MACs, 75 output neurons */
    assert_true(e.ann_macs == 552 && e.ann_neurons == 75);
    assert_float_equal(e.ann_int_pj, 0.3 * 552, 1e-9);
    assert_float_equal(e.ann_sram_pj, 10.0 / 64 * (16 * 552 + 64 * 75), 1e-9);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hand_counted)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
