/*
 * fold-impl.h - internals shared by the image producers (randnet.c, fold.c).
 */
#ifndef SNN_FOLD_IMPL_H
#define SNN_FOLD_IMPL_H

#include "snn-fold.h"

/* "c32,c32,p,c64,p,f128" -> kinds and widths of the hidden layers (the
 * output layer is implied). The first layer must be c or f, no conv after an
 * fc. SNN_ERR_ARG names the bad token. Used for random deploy images
 * (randnet.c), which may have no hidden layer (""); a checkpoint's arch is
 * checked by snn_ckpt_validate with the trainer's parser. */
snn_status snn_fold_arch_parse(const char *arch, snn_layer_kind *kind, uint32_t *width, uint32_t *n);

#endif
