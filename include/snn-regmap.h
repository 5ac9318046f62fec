/*
 * snn-regmap.h - the kernel's AXI-Lite register map (ap_ctrl_hs), shared by
 * the HLS kernel, the RTL kernel, the Verilator harness and the XRT backend.
 * It is the map Vitis HLS generates for
 *
 *   void snn_kernel(const ap_uint<512> *model, const ap_uint<512> *images,
 *                   ap_uint<512> *results, ap_uint<512> *trace, uint32_t n_images,
 *                   uint32_t flags);
 *
 * Details and timing: docs/register-map.md.
 */
#ifndef SNN_REGMAP_H
#define SNN_REGMAP_H

#define SNN_REG_CTRL 0x00u       /* bit0 ap_start, bit1 ap_done (COR), bit2 ap_idle, bit3 ap_ready, bit7 auto_restart */
#define SNN_REG_GIE 0x04u        /* bit0 global interrupt enable */
#define SNN_REG_IER 0x08u        /* bit0 ap_done, bit1 ap_ready interrupt enable */
#define SNN_REG_ISR 0x0Cu        /* bit0 ap_done, bit1 ap_ready status (toggle on write) */
#define SNN_REG_MODEL_LO 0x10u   /* deploy image, device address */
#define SNN_REG_MODEL_HI 0x14u
#define SNN_REG_IMAGES_LO 0x1Cu  /* uint8 images */
#define SNN_REG_IMAGES_HI 0x20u
#define SNN_REG_RESULTS_LO 0x28u /* result records */
#define SNN_REG_RESULTS_HI 0x2Cu
#define SNN_REG_TRACE_LO 0x34u   /* spike trace, 0 = off */
#define SNN_REG_TRACE_HI 0x38u
#define SNN_REG_N_IMAGES 0x40u   /* number of images in this run */
#define SNN_REG_FLAGS 0x48u      /* SNN_FLAG_* (the next scalar argument, as Vitis HLS places it) */
#define SNN_REG_SPAN 0x50u       /* size of the register space (power of two above: 0x80) */

/* Bits of SNN_REG_FLAGS. The layer-pipeline kernel keeps a model on chip
 * between runs and loads it again only when the model address changed or
 * SNN_FLAG_RELOAD is set; a host that rewrote the model buffer in place sets
 * it for the next run. */
#define SNN_FLAG_RELOAD 0x1u

#define SNN_CTRL_AP_START 0x1u
#define SNN_CTRL_AP_DONE 0x2u
#define SNN_CTRL_AP_IDLE 0x4u
#define SNN_CTRL_AP_READY 0x8u

#define SNN_KERNEL_NAME "snn_kernel"

#endif
