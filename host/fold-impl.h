/*
 * fold-impl.h - internals shared by the image producers (randnet.c, fold.c).
 */
#ifndef SNN_FOLD_IMPL_H
#define SNN_FOLD_IMPL_H

#include "snn-fold.h"

/* "c32,c32,p,c64,p,f128" -> kinds and widths of the hidden layers (the
 * output layer is implied). The first layer must be c or f, no conv after an
 * fc. SNN_ERR_ARG names the bad token. Kept separate from the trainer's
 * parser so that folding depends only on the checkpoint format. */
snn_status snn_fold_arch_parse(const char *arch, snn_layer_kind *kind, uint32_t *width, uint32_t *n);

#endif
