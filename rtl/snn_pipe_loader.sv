// snn_pipe_loader - model loader of the layer-pipeline kernel
// (docs/rtl-pipeline.md, "Loading a model"). It reads a deploy image
// (docs/deploy-image.md) through the read side of m_axi_gmem, maps its layers
// onto the kernel's fixed stage list
//
//   stage 0  conv, image input        (layer 0)
//   stage 1  conv                     (or a pass-through, see below)
//   stage 2  conv                     (or a pass-through)
//   stage 3  fc, then LIF
//   stage 4  out (sums over T, arg-max)
//
// with every pool folded into the write of the stage before it, checks that
// the image fits the stages' maxima, and writes the weights, biases,
// thresholds and polarity bits into the stages' memories over the load bus
// (st_o selects the stage of weight rows and biases, t_st_o that of
// thresholds).
//
// Mapping. Layer 0 must be a conv (stage 0). A later conv takes the next conv
// stage. A pool folds into the stage that wrote its input; a second pool in a
// row takes the next conv stage as a pass-through with that pool folded in.
// The fc layer leaves the remaining conv stages as pass-throughs, and the out
// layer must follow it directly. A pass-through stage is an identity conv
// (weight 1 at the centre tap from channel c to channel c, bias 0, threshold
// 0, positive polarity): with v = (u >> 2) + acc and u = 0 after every step
// (a fired neuron resets, a silent one has v = 0), it fires exactly when its
// input fired, so it copies its map, pooled if a pool is folded in. Anything
// else (fc on the image, two fc layers, more convs than stages) does not fit:
// nofit_o, and the kernel writes records with pred = -1. The host mirrors
// this rule (host/deploy/pipe-fit.c).
//
// The descriptors are not kept: each layer's descriptor (words 0..15) is read
// into one register set and mapped before the next one is read (L_DESC,
// L_MAP, one layer at a time); what the load needs later stays per stage (the
// offsets and sizes of its sections, out_c) and the fit check per stage is a
// flag set when the stage is assigned.
//
// Bandwidth. Two read channels share the AXI read master: channel 0 carries
// the header, the descriptors and then every stage's weights and biases,
// channel 1 every stage's polarity bits and thresholds. Each channel asks for
// commands of CHUNK beats into its own beat buffer (BUF_D beats, a block RAM)
// only while the buffer has room for them, so the R channel never stalls, and
// the two take turns. Weights leave as one row per cycle (out_c bytes; a beat
// a cycle when out_c is a multiple of 8), biases and thresholds one word per
// cycle (the stages' ports), polarity one beat per cycle into a buffer that
// the threshold pass reads. Thresholds, one per cycle from two per beat, leave
// half of the bus to the weights, so the load takes about the larger of the
// beats of the image and the thresholds.
`default_nettype none

module snn_pipe_loader #(
  parameter int unsigned GA     = 64,
  parameter int unsigned TM     = 4,
  // conv stages: input channels, output channels, map height / width maxima
  parameter int unsigned C0_CIN = 1,  parameter int unsigned C0_COUT = 32,
  parameter int unsigned C0_H   = 28, parameter int unsigned C0_W    = 28,
  parameter int unsigned C1_CIN = 32, parameter int unsigned C1_COUT = 32,
  parameter int unsigned C1_H   = 28, parameter int unsigned C1_W    = 28,
  parameter int unsigned C2_CIN = 32, parameter int unsigned C2_COUT = 64,
  parameter int unsigned C2_H   = 14, parameter int unsigned C2_W    = 14,
  // fc stage: input channels, input pixels, outputs; out stage: classes
  parameter int unsigned F_CIN  = 64, parameter int unsigned F_HW    = 49,
  parameter int unsigned F_COUT = 128,
  parameter int unsigned O_COUT = 64,
  // derived
  parameter int unsigned ROW_W  = 8 * F_COUT,     // widest weight row (bits)
  parameter int unsigned POL_N  = 65536,          // polarity bits buffered (max neurons of a stage)
  // read path
  parameter int unsigned BUF_D  = 512,            // beats buffered per read channel (power of two)
  parameter int unsigned CHUNK  = 32,             // beats per read command
  parameter int unsigned RQ_D   = 16              // read commands in flight (power of two)
) (
  input  wire                clk_i,
  input  wire                rst_ni,
  input  wire                start_i,       // pulse: load the image at model_i
  input  wire [GA-1:0]       model_i,
  output logic               busy_o,
  output logic               done_o,        // pulse; configuration valid from here on
  // read commands and beats (snn_axi_rd)
  output logic               cmd_valid_o,
  input  wire                cmd_ready_i,
  output logic [GA-1:0]      cmd_addr_o,
  output logic [23:0]        cmd_beats_o,
  input  wire                dat_valid_i,
  output logic               dat_ready_o,
  input  wire [63:0]         dat_i,
  // load bus: weight rows and biases of stage st_o, thresholds of stage t_st_o
  output logic [2:0]         st_o,          // stage of the weight row / bias write
  output logic               w_en_o,        // weight row
  output logic [31:0]        w_row_o,
  output logic [ROW_W-1:0]   w_data_o,
  output logic               b_en_o,        // bias of channel b_ch_o
  output logic [15:0]        b_ch_o,
  output logic [31:0]        b_data_o,
  output logic [2:0]         t_st_o,        // stage of the threshold write
  output logic               t_en_o,        // threshold + polarity of (t_ch_o, t_pix_o)
  output logic [15:0]        t_ch_o,
  output logic [31:0]        t_pix_o,
  output logic [31:0]        t_th_o,
  output logic               t_pol_o,
  // configuration (valid after done_o)
  output logic               nofit_o,
  output logic [4:0]         t_steps_o,
  output logic [6:0]         n_classes_o,
  output logic [4:0]         n_layers_o,
  output logic [15:0]        in_c_o,        // image
  output logic [15:0]        in_h_o,
  output logic [15:0]        in_w_o,
  output logic [31:0]        px_bytes_o,    // bytes of one image
  // conv stages s = 0..2 (index s*16 +: 16)
  output logic [47:0]        c_h_o, c_w_o, c_hw_o, c_cout_o, c_oh_o, c_ow_o,
  output logic [2:0]         c_pool_o,
  // fc stage: input pixels, outputs; out stage: classes = n_classes_o
  output logic [15:0]        f_hw_o,
  output logic [15:0]        f_cout_o,
  // which layer each stage computes (5'h1f: none, a pass-through) and the
  // pool folded into it (5'h1f: none), for the record's counters
  output logic [24:0]        layer_of_o,    // stage s at s*5 +: 5
  output logic [24:0]        pool_of_o,
  // per layer l (l*16 +: 16): output shape; its stage (l*3 +: 3, 7: none) and
  // whether it is a pool folded into that stage (trace mode)
  output logic [255:0]       lay_c_o, lay_h_o, lay_w_o,
  output logic [47:0]        lay_stage_o,
  output logic [15:0]        lay_pool_o
);

  localparam logic [4:0] NONE = 5'h1f;
  localparam int unsigned NW  = (ROW_W + 63) / 64;              // 64-bit words of a row
  localparam int unsigned PWD = (POL_N + 63) / 64;              // polarity words buffered
  localparam int unsigned PAW = (PWD > 1) ? $clog2(PWD) : 1;
  localparam int unsigned BAW = $clog2(BUF_D);                  // beat buffer address bits
  localparam int unsigned RCW = $clog2(BUF_D + 1);              // beats of a buffer (count)
  localparam int unsigned CKW = $clog2(CHUNK + 1);              // beats of one command
  // descriptor word offsets
  localparam int unsigned D_KIND = 0, D_INC = 1, D_INH = 2, D_INW = 3, D_OUTC = 4, D_OUTH = 5,
                          D_OUTW = 6, D_WOFF = 8, D_WBYTES = 9, D_BOFF = 10, D_BBYTES = 11,
                          D_THOFF = 12, D_THBYTES = 13, D_POLOFF = 14, D_POLBYTES = 15;
  // sections of a stage, in the section table
  localparam int unsigned S_W = 0, S_B = 1, S_P = 2, S_T = 3;

`ifndef SYNTHESIS
  initial begin
    if (BUF_D < 2 * CHUNK || (BUF_D & (BUF_D - 1)) != 0)
      $fatal(1, "snn_pipe_loader: BUF_D must be a power of two of at least 2 * CHUNK");
    if (CHUNK < 1 || CHUNK > 256) $fatal(1, "snn_pipe_loader: CHUNK must be 1..256");
  end
`endif

  function automatic int unsigned cmax(input int unsigned s, input int unsigned which);
    // which: 0 cin, 1 cout, 2 h, 3 w
    case (s)
      0: cmax = which == 0 ? C0_CIN : which == 1 ? C0_COUT : which == 2 ? C0_H : C0_W;
      1: cmax = which == 0 ? C1_CIN : which == 1 ? C1_COUT : which == 2 ? C1_H : C1_W;
      default: cmax = which == 0 ? C2_CIN : which == 1 ? C2_COUT : which == 2 ? C2_H : C2_W;
    endcase
  endfunction

  // beats of a section of `bytes` bytes
  function automatic logic [31:0] beats_of(input logic [31:0] bytes);
    beats_of = 32'((33'(bytes) + 33'd7) >> 3);
  endfunction

  // ---- states -------------------------------------------------------------------------
  typedef enum logic [2:0] {
    L_IDLE, L_HDR, L_DCMD, L_DESC, L_MAP, L_CHECK, L_LOAD, L_DONE
  } state_e;

  // ---- front end: header, descriptors, mapping, fit check ----------------------------
  state_e        st_q, st_d;
  logic [GA-1:0] model_q, model_d;
  logic [31:0]   hdr_q [16], hdr_d [16];
  logic [31:0]   cur_q [16], cur_d [16];   // descriptor of the layer being mapped
  logic [3:0]    fb_q, fb_d;               // beat of the header / descriptor
  logic [31:0]   hwp_q, hwp_d;             // in_h * in_w of that layer (32 bits)
  // mapping
  logic [4:0]    ml_q, ml_d;               // layer being mapped
  logic [1:0]    ns_q, ns_d;               // next conv stage
  logic          fc_seen_q, fc_seen_d, out_seen_q, out_seen_d, bad_q, bad_d;
  logic [4:0]    fc_layer_q, fc_layer_d;
  logic [15:0]   ich_q [3], ich_d [3];     // pass-through channels
  logic [4:0]    lof_q [5], lof_d [5], pof_q [5], pof_d [5];
  logic [2:0]    sok_q, sok_d;             // conv stage s within its maxima
  logic          fok_q, fok_d;             // fc stage within its maxima
  // section table: offset and bytes of weights, biases, polarity, thresholds
  // of stage s's layer, and its out_c
  logic [31:0]   soff_q [5][4], soff_d [5][4], sby_q [5][4], sby_d [5][4];
  logic [31:0]   soc_q [5], soc_d [5];
  // configuration
  logic          nofit_q, nofit_d;
  logic [4:0]    t_steps_q, t_steps_d, n_layers_q, n_layers_d;
  logic [6:0]    n_classes_q, n_classes_d;
  logic [15:0]   in_c_q, in_c_d, in_h_q, in_h_d, in_w_q, in_w_d, f_hw_q, f_hw_d, f_cout_q, f_cout_d;
  logic [31:0]   px_bytes_q, px_bytes_d;
  logic [47:0]   c_h_q, c_h_d, c_w_q, c_w_d, c_hw_q, c_hw_d, c_cout_q, c_cout_d,
                 c_oh_q, c_oh_d, c_ow_q, c_ow_d;
  logic [2:0]    c_pool_q, c_pool_d;
  logic [255:0]  lay_c_q, lay_c_d, lay_h_q, lay_h_d, lay_w_q, lay_w_d;
  logic [47:0]   lay_stage_q, lay_stage_d;
  logic [15:0]   lay_pool_q, lay_pool_d;
  logic          done_d;

  // requests of the front end to the read path and the channels
  logic          start;            // a load begins
  logic          fe_raw;           // read fe_raw_beats beats from fe_raw_addr on channel 0
  logic [GA-1:0] fe_raw_addr;
  logic [31:0]   fe_raw_beats;
  logic          fe_pop;           // the front end takes the head beat of channel 0
  logic          go;               // the image fits: the channels start

  // ---- read path ----------------------------------------------------------------------
  logic [1:0]    buf_hv;           // channel c's buffer has a head beat
  logic [127:0]  buf_hd;           // its head beat at c*64 +: 64
  logic [1:0]    buf_push, buf_pop;
  logic          w_fin, t_fin;     // channel 0 / 1 has nothing left to write

  // ---- W consumer (channel 0): weight rows, biases --------------------------------------
  logic          wc_on_q, wc_on_d;        // sections to go
  logic [2:0]    wc_s_q, wc_s_d;          // stage of the section
  logic          wc_p_q, wc_p_d;          // 0 weights, 1 biases
  logic [1:0]    wc_k_q, wc_k_d;          // 0 set up the section, 1 from memory, 2 generated
  logic [31:0]   wbl_q, wbl_d;            // beats of the section still to take
  logic [31:0]   wn_q, wn_d;              // weights: bytes not yet in the window; else items left
  logic [127:0]  win_q, win_d;            // weight bytes: two beat slots, read from any byte
  logic [3:0]    wrp_q, wrp_d;            // byte of the window read next
  logic [3:0]    wwp_q, wwp_d;            // byte the next beat goes to (0 or 8)
  logic [4:0]    wcnt_q, wcnt_d;          // bytes in the window
  logic [31:0]   oc_q, oc_d;              // bytes of a weight row
  logic [31:0]   k_q, k_d;                // byte of the row the window fills next (multiple of 8)
  logic [31:0]   idx_q, idx_d;            // row / bias index
  logic [NW*64-1:0] rowbuf_q, rowbuf_d;  // the row being filled; w_data_o when w_en_o
  logic          wh_q, wh_d;              // biases: the upper word of the head beat is next
  logic [3:0]    gtap_q, gtap_d;          // pass-through rows: tap, input channel
  logic [15:0]   gci_q, gci_d, gich_q, gich_d;
  logic          wc_pop;
  logic          w_en_d, b_en_d;
  logic [2:0]    w_st_d;
  logic [31:0]   w_row_d, b_data_d;
  logic [15:0]   b_ch_d;

  // ---- T consumer (channel 1): polarity, thresholds --------------------------------------
  logic          tc_on_q, tc_on_d;
  logic [2:0]    tc_s_q, tc_s_d;
  logic          tc_p_q, tc_p_d;          // 0 polarity, 1 thresholds
  logic [1:0]    tc_k_q, tc_k_d;
  logic [31:0]   tbl_q, tbl_d;            // beats of the section still to take
  logic [31:0]   tn_q, tn_d;              // thresholds left
  logic          th_q, th_d;              // the upper word of the head beat is next
  logic [31:0]   tidx_q, tidx_d;          // neuron index (its polarity bit)
  logic [15:0]   tch_q, tch_d, tich_q, tich_d;
  logic [31:0]   tpix_q, tpix_d, thw_q, thw_d;
  logic [PAW-1:0] pw_q, pw_d;             // polarity word written next
  logic          tc_pop, pol_we, pol_re;
  // the threshold waiting one cycle for its polarity word
  logic          tp_v_q, tp_v_d, tp_gen_q, tp_gen_d;
  logic [31:0]   tp_th_q, tp_th_d, tp_pix_q, tp_pix_d;
  logic [15:0]   tp_ch_q, tp_ch_d;
  logic [5:0]    tp_bit_q, tp_bit_d;
  logic [2:0]    tp_st_q, tp_st_d;
  logic [63:0]   pol_rd_q;
  logic          t_en_d, t_pol_d;
  logic [2:0]    t_st_d;
  logic [15:0]   t_ch_d;
  logic [31:0]   t_pix_d, t_th_d;

  assign w_data_o = rowbuf_q[ROW_W-1:0];
  assign w_fin = !wc_on_q && wc_k_q == 2'd0;
  assign t_fin = !tc_on_q && tc_k_q == 2'd0 && !tp_v_q;

  always_comb begin
    st_d = st_q;
    model_d = model_q;
    hdr_d = hdr_q;
    cur_d = cur_q;
    fb_d = fb_q;
    hwp_d = hwp_q;
    ml_d = ml_q;
    ns_d = ns_q;
    fc_seen_d = fc_seen_q;
    out_seen_d = out_seen_q;
    bad_d = bad_q;
    fc_layer_d = fc_layer_q;
    ich_d = ich_q;
    lof_d = lof_q;
    pof_d = pof_q;
    sok_d = sok_q;
    fok_d = fok_q;
    soff_d = soff_q;
    sby_d = sby_q;
    soc_d = soc_q;
    nofit_d = nofit_q;
    t_steps_d = t_steps_q;
    n_layers_d = n_layers_q;
    n_classes_d = n_classes_q;
    in_c_d = in_c_q;
    in_h_d = in_h_q;
    in_w_d = in_w_q;
    f_hw_d = f_hw_q;
    f_cout_d = f_cout_q;
    px_bytes_d = px_bytes_q;
    c_h_d = c_h_q;
    c_w_d = c_w_q;
    c_hw_d = c_hw_q;
    c_cout_d = c_cout_q;
    c_oh_d = c_oh_q;
    c_ow_d = c_ow_q;
    c_pool_d = c_pool_q;
    lay_c_d = lay_c_q;
    lay_h_d = lay_h_q;
    lay_w_d = lay_w_q;
    lay_stage_d = lay_stage_q;
    lay_pool_d = lay_pool_q;
    done_d = 1'b0;
    start = 1'b0;
    fe_raw = 1'b0;
    fe_raw_addr = '0;
    fe_raw_beats = '0;
    fe_pop = 1'b0;
    go = 1'b0;

    unique case (st_q)
      L_IDLE: if (start_i) begin
        start        = 1'b1;
        model_d      = model_i;
        fe_raw       = 1'b1;               // the header: 16 words
        fe_raw_addr  = model_i;
        fe_raw_beats = 32'd8;
        fb_d         = '0;
        nofit_d      = 1'b0;
        bad_d        = 1'b0;
        st_d         = L_HDR;
      end

      L_HDR: if (buf_hv[0]) begin
        fe_pop = 1'b1;
        for (int j = 0; j < 8; j++)
          if (fb_q == 4'(j)) begin
            hdr_d[2*j]     = buf_hd[31:0];
            hdr_d[2*j + 1] = buf_hd[63:32];
          end
        fb_d = fb_q + 4'd1;
        if (fb_q == 4'd7) st_d = L_DCMD;
      end

      // n_layers at word 4, desc_off at word 10: the descriptors follow
      L_DCMD: begin
        ml_d       = '0;
        ns_d       = '0;
        fb_d       = '0;
        fc_seen_d  = 1'b0;
        out_seen_d = 1'b0;
        sok_d      = '0;
        fok_d      = 1'b0;
        for (int s = 0; s < 5; s++) begin
          lof_d[s] = NONE;
          pof_d[s] = NONE;
        end
        if (hdr_q[4] == 0 || hdr_q[4] > 32'd16) begin
          bad_d = 1'b1;
          st_d  = L_CHECK;
        end else begin
          fe_raw       = 1'b1;
          fe_raw_addr  = model_q + GA'(hdr_q[10]);
          fe_raw_beats = hdr_q[4] * 32'd10;
          st_d         = L_DESC;
        end
      end

      // the descriptor of layer ml_q, 10 beats; words 16..19 are not needed
      L_DESC: if (buf_hv[0]) begin
        fe_pop = 1'b1;
        for (int j = 0; j < 8; j++)
          if (fb_q == 4'(j)) begin
            cur_d[2*j]     = buf_hd[31:0];
            cur_d[2*j + 1] = buf_hd[63:32];
          end
        fb_d = fb_q + 4'd1;
        if (fb_q == 4'd9) begin
          fb_d  = '0;
          hwp_d = cur_q[D_INH] * cur_q[D_INW];
          st_d  = L_MAP;
        end
      end

      L_MAP: begin
        logic [31:0] kind;
        logic [1:0]  last;             // the stage before ns_q (2 bits: 3 when ns_q is 0)
        logic        pool_free;
        kind = cur_q[D_KIND];
        last = ns_q - 2'd1;
        pool_free = 1'b0;
        for (int s = 0; s < 4; s++)
          if (last == 2'(s)) pool_free = pof_q[s] == NONE;
        for (int l = 0; l < 16; l++)
          if (ml_q == 5'(l)) begin
            lay_c_d[l*16 +: 16] = 16'(cur_q[D_OUTC]);
            lay_h_d[l*16 +: 16] = 16'(cur_q[D_OUTH]);
            lay_w_d[l*16 +: 16] = 16'(cur_q[D_OUTW]);
          end
        if (out_seen_q) bad_d = 1'b1;        // a layer after out
        case (kind)
          32'd1: begin   // conv
            if (fc_seen_q || ns_q == 2'd3) bad_d = 1'b1;
            else begin
              for (int s = 0; s < 3; s++)
                if (ns_q == 2'(s)) begin
                  lof_d[s]              = ml_q;
                  c_h_d[s*16 +: 16]     = 16'(cur_q[D_INH]);
                  c_w_d[s*16 +: 16]     = 16'(cur_q[D_INW]);
                  c_hw_d[s*16 +: 16]    = 16'(hwp_q);
                  c_cout_d[s*16 +: 16]  = 16'(cur_q[D_OUTC]);
                  c_oh_d[s*16 +: 16]    = 16'(cur_q[D_INH]);
                  c_ow_d[s*16 +: 16]    = 16'(cur_q[D_INW]);
                  c_pool_d[s]           = 1'b0;
                  sok_d[s] = cur_q[D_INC] <= 32'(cmax(s, 0)) && cur_q[D_OUTC] <= 32'(cmax(s, 1)) &&
                             cur_q[D_INH] <= 32'(cmax(s, 2)) && cur_q[D_INW] <= 32'(cmax(s, 3)) &&
                             cur_q[D_INH] != 0 && cur_q[D_INW] != 0;
                  soff_d[s][S_W] = cur_q[D_WOFF];   sby_d[s][S_W] = cur_q[D_WBYTES];
                  soff_d[s][S_B] = cur_q[D_BOFF];   sby_d[s][S_B] = cur_q[D_BBYTES];
                  soff_d[s][S_P] = cur_q[D_POLOFF]; sby_d[s][S_P] = cur_q[D_POLBYTES];
                  soff_d[s][S_T] = cur_q[D_THOFF];  sby_d[s][S_T] = cur_q[D_THBYTES];
                  soc_d[s]       = cur_q[D_OUTC];
                end
              ns_d = ns_q + 2'd1;
            end
          end
          32'd2: begin   // pool: fold into the last stage, or a pass-through
            if (ml_q == 0 || fc_seen_q) bad_d = 1'b1;
            else if (pool_free) begin
              for (int s = 0; s < 4; s++)
                if (last == 2'(s)) pof_d[s] = ml_q;
              for (int s = 0; s < 3; s++)
                if (last == 2'(s)) begin
                  c_pool_d[s]        = 1'b1;
                  c_oh_d[s*16 +: 16] = 16'(cur_q[D_OUTH]);
                  c_ow_d[s*16 +: 16] = 16'(cur_q[D_OUTW]);
                end
            end else if (ns_q == 2'd3) bad_d = 1'b1;
            else begin
              for (int s = 0; s < 3; s++)
                if (ns_q == 2'(s)) begin
                  logic [15:0] ic, ih, iw;
                  ic = 16'(cur_q[D_INC]);
                  ih = 16'(cur_q[D_INH]);
                  iw = 16'(cur_q[D_INW]);
                  ich_d[s]             = ic;
                  pof_d[s]             = ml_q;
                  c_h_d[s*16 +: 16]    = ih;
                  c_w_d[s*16 +: 16]    = iw;
                  c_hw_d[s*16 +: 16]   = 16'(hwp_q);
                  c_cout_d[s*16 +: 16] = ic;
                  c_oh_d[s*16 +: 16]   = 16'(cur_q[D_OUTH]);
                  c_ow_d[s*16 +: 16]   = 16'(cur_q[D_OUTW]);
                  c_pool_d[s]          = 1'b1;
                  sok_d[s] = 32'(ic) <= 32'(cmax(s, 0)) && 32'(ic) <= 32'(cmax(s, 1)) &&
                             32'(ih) <= 32'(cmax(s, 2)) && 32'(iw) <= 32'(cmax(s, 3)) &&
                             ih != 0 && iw != 0;
                end
              ns_d = ns_q + 2'd1;
            end
          end
          32'd3: begin   // fc: the remaining conv stages pass through
            if (ml_q == 0 || fc_seen_q) bad_d = 1'b1;
            else begin
              fc_seen_d  = 1'b1;
              fc_layer_d = ml_q;
              lof_d[3]   = ml_q;
              f_hw_d     = 16'(hwp_q);
              f_cout_d   = 16'(cur_q[D_OUTC]);
              fok_d = cur_q[D_INC] <= 32'(F_CIN) && hwp_q <= 32'(F_HW) &&
                      cur_q[D_OUTC] <= 32'(F_COUT);
              soff_d[3][S_W] = cur_q[D_WOFF];   sby_d[3][S_W] = cur_q[D_WBYTES];
              soff_d[3][S_B] = cur_q[D_BOFF];   sby_d[3][S_B] = cur_q[D_BBYTES];
              soff_d[3][S_P] = cur_q[D_POLOFF]; sby_d[3][S_P] = cur_q[D_POLBYTES];
              soff_d[3][S_T] = cur_q[D_THOFF];  sby_d[3][S_T] = cur_q[D_THBYTES];
              soc_d[3]       = cur_q[D_OUTC];
              for (int s = 1; s < 3; s++)
                if (32'(s) >= 32'(ns_q)) begin
                  logic [15:0] ic, ih, iw;
                  ic = 16'(cur_q[D_INC]);
                  ih = 16'(cur_q[D_INH]);
                  iw = 16'(cur_q[D_INW]);
                  ich_d[s]             = ic;
                  c_h_d[s*16 +: 16]    = ih;
                  c_w_d[s*16 +: 16]    = iw;
                  c_hw_d[s*16 +: 16]   = 16'(hwp_q);
                  c_cout_d[s*16 +: 16] = ic;
                  c_oh_d[s*16 +: 16]   = ih;
                  c_ow_d[s*16 +: 16]   = iw;
                  c_pool_d[s]          = 1'b0;
                  sok_d[s] = 32'(ic) <= 32'(cmax(s, 0)) && 32'(ic) <= 32'(cmax(s, 1)) &&
                             32'(ih) <= 32'(cmax(s, 2)) && 32'(iw) <= 32'(cmax(s, 3)) &&
                             ih != 0 && iw != 0;
                end
              if (ns_q == 2'd0) bad_d = 1'b1;
              ns_d = 2'd3;
            end
          end
          default: begin // out: directly after the fc layer
            if (!fc_seen_q || ml_q != fc_layer_q + 5'd1) bad_d = 1'b1;
            out_seen_d = 1'b1;
            lof_d[4]   = ml_q;
            soff_d[4][S_W] = cur_q[D_WOFF];   sby_d[4][S_W] = cur_q[D_WBYTES];
            soff_d[4][S_B] = cur_q[D_BOFF];   sby_d[4][S_B] = cur_q[D_BBYTES];
            soff_d[4][S_P] = '0;              sby_d[4][S_P] = '0;
            soff_d[4][S_T] = '0;              sby_d[4][S_T] = '0;
            soc_d[4]       = cur_q[D_OUTC];
          end
        endcase
        ml_d = ml_q + 5'd1;
        st_d = (32'(ml_q) + 1 == hdr_q[4]) ? L_CHECK : L_DESC;
      end

      L_CHECK: begin
        logic fit;
        for (int l = 0; l < 16; l++) begin
          lay_stage_d[l*3 +: 3] = 3'd7;
          lay_pool_d[l]         = 1'b0;
          for (int s = 0; s < 5; s++) begin
            if (lof_q[s] == 5'(l)) lay_stage_d[l*3 +: 3] = 3'(s);
            if (pof_q[s] == 5'(l)) begin
              lay_stage_d[l*3 +: 3] = 3'(s);
              lay_pool_d[l]         = 1'b1;
            end
          end
        end
        t_steps_d   = 5'(hdr_q[5]);
        n_classes_d = 7'(hdr_q[9]);
        n_layers_d  = 5'(hdr_q[4]);
        in_c_d      = 16'(hdr_q[6]);
        in_h_d      = 16'(hdr_q[7]);
        in_w_d      = 16'(hdr_q[8]);
        px_bytes_d  = hdr_q[6] * hdr_q[7] * hdr_q[8];
        // every conv stage is assigned (a conv or a pass-through) whenever the
        // rest holds, so its flag is its check
        fit = !bad_q && fc_seen_q && out_seen_q && hdr_q[5] <= 32'(TM) && hdr_q[5] >= 1 &&
              hdr_q[9] <= 32'(O_COUT) && {27'd0, lof_q[0]} == 32'd0 && &sok_q &&
              lof_q[3] != NONE && fok_q && lof_q[4] != NONE;
        if (!fit) begin
          nofit_d = 1'b1;
          st_d    = L_DONE;
        end else begin
          go   = 1'b1;
          st_d = L_LOAD;
        end
      end

      L_LOAD: if (w_fin && t_fin) st_d = L_DONE;

      L_DONE: begin
        done_d = 1'b1;
        st_d   = L_IDLE;
      end

      default: st_d = L_IDLE;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q    <= L_IDLE;
      nofit_q <= 1'b0;
      done_o  <= 1'b0;
    end else begin
      st_q    <= st_d;
      nofit_q <= nofit_d;
      done_o  <= done_d;
    end
  end

  always_ff @(posedge clk_i) begin
    model_q     <= model_d;
    hdr_q       <= hdr_d;
    cur_q       <= cur_d;
    fb_q        <= fb_d;
    hwp_q       <= hwp_d;
    ml_q        <= ml_d;
    ns_q        <= ns_d;
    fc_seen_q   <= fc_seen_d;
    out_seen_q  <= out_seen_d;
    bad_q       <= bad_d;
    fc_layer_q  <= fc_layer_d;
    ich_q       <= ich_d;
    lof_q       <= lof_d;
    pof_q       <= pof_d;
    sok_q       <= sok_d;
    fok_q       <= fok_d;
    soff_q      <= soff_d;
    sby_q       <= sby_d;
    soc_q       <= soc_d;
    t_steps_q   <= t_steps_d;
    n_layers_q  <= n_layers_d;
    n_classes_q <= n_classes_d;
    in_c_q      <= in_c_d;
    in_h_q      <= in_h_d;
    in_w_q      <= in_w_d;
    f_hw_q      <= f_hw_d;
    f_cout_q    <= f_cout_d;
    px_bytes_q  <= px_bytes_d;
    c_h_q       <= c_h_d;
    c_w_q       <= c_w_d;
    c_hw_q      <= c_hw_d;
    c_cout_q    <= c_cout_d;
    c_oh_q      <= c_oh_d;
    c_ow_q      <= c_ow_d;
    c_pool_q    <= c_pool_d;
    lay_c_q     <= lay_c_d;
    lay_h_q     <= lay_h_d;
    lay_w_q     <= lay_w_d;
    lay_stage_q <= lay_stage_d;
    lay_pool_q  <= lay_pool_d;
  end

  assign busy_o      = st_q != L_IDLE;
  assign nofit_o     = nofit_q;
  assign t_steps_o   = t_steps_q;
  assign n_classes_o = n_classes_q;
  assign n_layers_o  = n_layers_q;
  assign in_c_o      = in_c_q;
  assign in_h_o      = in_h_q;
  assign in_w_o      = in_w_q;
  assign px_bytes_o  = px_bytes_q;
  assign c_h_o       = c_h_q;
  assign c_w_o       = c_w_q;
  assign c_hw_o      = c_hw_q;
  assign c_cout_o    = c_cout_q;
  assign c_oh_o      = c_oh_q;
  assign c_ow_o      = c_ow_q;
  assign c_pool_o    = c_pool_q;
  assign f_hw_o      = f_hw_q;
  assign f_cout_o    = f_cout_q;
  assign lay_c_o     = lay_c_q;
  assign lay_h_o     = lay_h_q;
  assign lay_w_o     = lay_w_q;
  assign lay_stage_o = lay_stage_q;
  assign lay_pool_o  = lay_pool_q;
  always_comb
    for (int s = 0; s < 5; s++) begin
      layer_of_o[s*5 +: 5] = lof_q[s];
      pool_of_o[s*5 +: 5]  = pof_q[s];
    end

  // ---- read commands: two channels take turns -------------------------------------------
  // Issue side of channel c: the section at (is_s, is_p) is set up when the
  // previous one is requested; is_left beats from is_addr are still to
  // request. Channel 0: (stage, weights / biases) for stages 0..4, channel 1:
  // (stage, polarity / thresholds) for stages 0..3. A command is issued only
  // while its channel's buffer has room for it (res: beats requested and not
  // yet taken by the consumer), so every beat is accepted when it arrives.
  logic [1:0]     is_on_q, is_on_d;
  logic [2:0]     is_s_q [2], is_s_d [2];
  logic [1:0]     is_p_q, is_p_d;
  logic [GA-1:0]  is_addr_q [2], is_addr_d [2];
  logic [31:0]    is_left_q [2], is_left_d [2];
  logic [RCW-1:0] res_q [2], res_d [2];
  logic           cmd_pend_q, cmd_pend_d;
  logic [GA-1:0]  cmd_addr_q, cmd_addr_d;
  logic [CKW-1:0] cmd_beats_q, cmd_beats_d;
  logic           rr_q, rr_d;             // the channel of the last command
  logic [CKW-1:0] rcv_q, rcv_d;           // beats received of the oldest command
  logic [CKW-1:0] chunk [2];
  logic [1:0]     elig;
  logic           pick, pick_c;
  // commands in flight: channel, beats
  logic           rq_in_ready, rq_valid, rq_pop;
  logic [CKW:0]   rq_in, rq_out;
  logic           beat;

  assign cmd_valid_o = cmd_pend_q;
  assign cmd_addr_o  = cmd_addr_q;
  assign cmd_beats_o = 24'(cmd_beats_q);
  assign dat_ready_o = rq_valid;          // room is reserved: every beat of a command is taken
  assign beat        = dat_valid_i && dat_ready_o;

  always_comb begin
    logic [1:0]  f;
    logic        lay;
    logic [31:0] off, by;
    is_on_d   = is_on_q;
    is_s_d    = is_s_q;
    is_p_d    = is_p_q;
    is_addr_d = is_addr_q;
    is_left_d = is_left_q;
    cmd_pend_d  = cmd_pend_q;
    cmd_addr_d  = cmd_addr_q;
    cmd_beats_d = cmd_beats_q;
    rr_d      = rr_q;
    f   = '0;
    lay = 1'b0;
    off = '0;
    by  = '0;
    if (cmd_pend_q && cmd_ready_i) cmd_pend_d = 1'b0;

    for (int c = 0; c < 2; c++) begin
      chunk[c] = (is_left_q[c] > 32'(CHUNK)) ? CKW'(CHUNK) : CKW'(is_left_q[c]);
      elig[c]  = is_left_q[c] != 0 && 32'(res_q[c]) + 32'(chunk[c]) <= 32'(BUF_D);
    end
    pick   = !cmd_pend_q && rq_in_ready && elig != 2'b00;
    pick_c = (elig == 2'b11) ? !rr_q : elig[1];
    if (pick) begin
      cmd_pend_d = 1'b1;
      rr_d       = pick_c;
      for (int c = 0; c < 2; c++)
        if (pick_c == 1'(c)) begin
          cmd_addr_d   = is_addr_q[c];
          cmd_beats_d  = chunk[c];
          is_addr_d[c] = is_addr_q[c] + GA'({chunk[c], 3'b000});
          is_left_d[c] = is_left_q[c] - 32'(chunk[c]);
        end
    end
    for (int c = 0; c < 2; c++)
      res_d[c] = res_q[c] + ((pick && pick_c == 1'(c)) ? RCW'(chunk[c]) : '0) -
                 (buf_pop[c] ? RCW'(1) : '0);

    // set up the next section of a channel once the last one is requested
    for (int c = 0; c < 2; c++)
      if (is_on_q[c] && is_left_q[c] == 0) begin
        f   = (c == 1) ? {1'b1, is_p_q[c]} : {1'b0, is_p_q[c]};
        lay = 1'b0;
        off = '0;
        by  = '0;
        for (int s = 0; s < 5; s++)
          if (is_s_q[c] == 3'(s)) begin
            lay = lof_q[s] != NONE;
            for (int g = 0; g < 4; g++)
              if (f == 2'(g)) begin
                off = soff_q[s][g];
                by  = sby_q[s][g];
              end
          end
        if (lay && by != 0) begin
          is_left_d[c] = beats_of(by);
          is_addr_d[c] = model_q + GA'(off);
        end
        if (is_p_q[c]) begin
          is_p_d[c] = 1'b0;
          is_s_d[c] = is_s_q[c] + 3'd1;
          if (is_s_q[c] == ((c == 1) ? 3'd3 : 3'd4)) is_on_d[c] = 1'b0;
        end else is_p_d[c] = 1'b1;
      end

    if (start) begin
      is_on_d    = '0;
      cmd_pend_d = 1'b0;
      rr_d       = 1'b0;
      for (int c = 0; c < 2; c++) begin
        is_left_d[c] = '0;
        res_d[c]     = '0;
      end
    end
    if (fe_raw) begin
      is_left_d[0] = fe_raw_beats;
      is_addr_d[0] = fe_raw_addr;
    end
    if (go) begin
      is_on_d = 2'b11;
      for (int c = 0; c < 2; c++) is_s_d[c] = '0;
      is_p_d = '0;
    end
  end

  // beats to the buffer of the oldest command's channel
  assign rq_in  = {pick_c, cmd_beats_d};
  assign rq_pop = beat && CKW'(rcv_q + 1'b1) == rq_out[CKW-1:0];
  always_comb begin
    rcv_d = rcv_q;
    if (beat) rcv_d = rq_pop ? '0 : rcv_q + 1'b1;
    if (start) rcv_d = '0;
    for (int c = 0; c < 2; c++) buf_push[c] = beat && rq_out[CKW] == 1'(c);
  end

  snn_fifo #(.WIDTH(CKW + 1), .DEPTH(RQ_D)) u_rq (
    .clk_i, .rst_ni, .clear_i(start),
    .in_valid_i(pick), .in_ready_o(rq_in_ready), .in_data_i(rq_in),
    .out_valid_o(rq_valid), .out_ready_i(rq_pop), .out_data_o(rq_out), .count_o()
  );

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      is_on_q    <= '0;
      cmd_pend_q <= 1'b0;
      rcv_q      <= '0;
      for (int c = 0; c < 2; c++) begin
        is_left_q[c] <= '0;
        res_q[c]     <= '0;
      end
    end else begin
      is_on_q    <= is_on_d;
      cmd_pend_q <= cmd_pend_d;
      rcv_q      <= rcv_d;
      is_left_q  <= is_left_d;
      res_q      <= res_d;
    end
  end

  always_ff @(posedge clk_i) begin
    is_s_q      <= is_s_d;
    is_p_q      <= is_p_d;
    is_addr_q   <= is_addr_d;
    cmd_addr_q  <= cmd_addr_d;
    cmd_beats_q <= cmd_beats_d;
    rr_q        <= rr_d;
  end

  // ---- beat buffers (block RAM, the head beat in the read register) ----------------------
  assign buf_pop[0] = fe_pop || wc_pop;
  assign buf_pop[1] = tc_pop;

  for (genvar c = 0; c < 2; c++) begin : g_buf
    logic [63:0]    mem [BUF_D];
    logic [BAW-1:0] wp_q, wp_d, rp_q, rp_d;
    logic [RCW-1:0] n_q, n_d;              // beats in mem (the head beat not counted)
    logic           hv_q, hv_d;
    logic [63:0]    hd_q;
    logic           rd;

    always_comb begin
      rd   = n_q != 0 && (!hv_q || buf_pop[c]);
      wp_d = buf_push[c] ? wp_q + 1'b1 : wp_q;
      rp_d = rd ? rp_q + 1'b1 : rp_q;
      n_d  = n_q + (buf_push[c] ? RCW'(1) : '0) - (rd ? RCW'(1) : '0);
      hv_d = rd ? 1'b1 : (buf_pop[c] ? 1'b0 : hv_q);
    end

    always_ff @(posedge clk_i) begin
      if (buf_push[c]) mem[wp_q] <= dat_i;
      if (rd) hd_q <= mem[rp_q];
    end

    always_ff @(posedge clk_i) begin
      if (!rst_ni || start) begin
        wp_q <= '0;
        rp_q <= '0;
        n_q  <= '0;
        hv_q <= 1'b0;
      end else begin
        wp_q <= wp_d;
        rp_q <= rp_d;
        n_q  <= n_d;
        hv_q <= hv_d;
      end
    end

    assign buf_hv[c]          = hv_q;
    assign buf_hd[c*64 +: 64] = hd_q;

`ifdef SNN_ASSERT
    // the reservation keeps every buffer from overflowing; nothing is taken from an empty one
    assert property (@(posedge clk_i) disable iff (!rst_ni) buf_push[c] |-> n_q < RCW'(BUF_D));
    assert property (@(posedge clk_i) disable iff (!rst_ni) buf_pop[c] |-> hv_q);
`endif
  end

  // ---- channel 0: weight rows and biases ----------------------------------------------------
  always_comb begin
    logic [31:0] oc_left;
    logic [4:0]  need, used, rem, add;
    logic        use_ok, sec_end;
    logic [63:0] word;
    logic [3:0]  pos;
    logic [NW*64-1:0] grow;

    wc_on_d = wc_on_q;
    wc_s_d  = wc_s_q;
    wc_p_d  = wc_p_q;
    wc_k_d  = wc_k_q;
    wbl_d   = wbl_q;
    wn_d    = wn_q;
    win_d   = win_q;
    wrp_d   = wrp_q;
    wwp_d   = wwp_q;
    wcnt_d  = wcnt_q;
    oc_d    = oc_q;
    k_d     = k_q;
    idx_d   = idx_q;
    rowbuf_d = rowbuf_q;
    wh_d    = wh_q;
    gtap_d  = gtap_q;
    gci_d   = gci_q;
    gich_d  = gich_q;
    wc_pop  = 1'b0;
    w_en_d  = 1'b0;
    w_st_d  = wc_s_q;
    w_row_d = w_row_o;
    b_en_d  = 1'b0;
    b_ch_d  = b_ch_o;
    b_data_d = b_data_o;
    sec_end = 1'b0;
    oc_left = oc_q - k_q;
    need = (oc_q == 0 || oc_left >= 32'd8) ? 5'd8 : 5'(oc_left);
    use_ok = 1'b0;
    used = '0;
    rem = '0;
    add = '0;
    word = '0;
    pos  = '0;
    grow = '0;

    unique case (wc_k_q)
      2'd0: if (wc_on_q) begin   // set up the section (wc_s_q, wc_p_q)
        logic        lay;
        logic [31:0] by, oc, ng;
        logic [15:0] ich;
        lay = 1'b0;
        by  = '0;
        oc  = '0;
        ich = '0;
        ng  = '0;
        for (int s = 0; s < 5; s++)
          if (wc_s_q == 3'(s)) begin
            lay = lof_q[s] != NONE;
            by  = wc_p_q ? sby_q[s][S_B] : sby_q[s][S_W];
            oc  = soc_q[s];
            // pass-through: rows 9*CIN (all rows, so stale weights are zeroed), biases COUT
            ng  = wc_p_q ? 32'(cmax(s, 1)) : 32'(9 * cmax(s, 0));
            if (s < 3) ich = ich_q[s];
          end
        idx_d = '0;
        if (lay) begin
          if (by != 0) begin
            wc_k_d   = 2'd1;
            wbl_d    = beats_of(by);
            wn_d     = wc_p_q ? by >> 2 : by;
            wrp_d    = '0;
            wwp_d    = '0;
            wcnt_d   = '0;
            k_d      = '0;
            oc_d     = oc;
            rowbuf_d = '0;
            wh_d     = 1'b0;
          end else sec_end = 1'b1;
        end else begin
          wc_k_d = 2'd2;
          wn_d   = ng;
          gtap_d = '0;
          gci_d  = '0;
          gich_d = ich;
        end
      end

      2'd1: if (!wc_p_q) begin
        // weights: beats into a window of two 8-byte slots, rows of out_c
        // bytes out of it, 8 bytes (one word of the row) per cycle from any
        // byte of the window; the last word of a row holds out_c mod 8
        use_ok = wcnt_q >= need;
        used   = use_ok ? need : 5'd0;
        rem    = wcnt_q - used;
        wc_pop = buf_hv[0] && wbl_q != 0 && rem <= 5'd8;   // the slot at wwp_q is free
        add    = (wn_q >= 32'd8) ? 5'd8 : 5'(wn_q);
        if (wc_pop) begin
          if (wwp_q[3]) win_d[127:64] = buf_hd[63:0];
          else          win_d[63:0]   = buf_hd[63:0];
          wwp_d = wwp_q + 4'(add);
          wbl_d = wbl_q - 32'd1;
          wn_d  = wn_q - 32'(add);
        end
        wrp_d  = wrp_q + 4'(used);
        wcnt_d = rem + (wc_pop ? add : 5'd0);
        for (int b = 0; b < 8; b++) begin
          pos = wrp_q + 4'(b);              // modulo 16
          word[b*8 +: 8] = win_q[pos*8 +: 8];
        end
        if (use_ok && oc_q != 0) begin
          // bytes past out_c stay zero: the last word is masked, the words
          // past it are cleared when the section starts
          word = word & ~({64{1'b1}} << {need, 3'b000});
          for (int j = 0; j < int'(NW); j++)
            if (k_q[31:3] == 29'(j)) rowbuf_d[j*64 +: 64] = word;
          if (oc_left <= 32'd8) begin
            w_en_d  = 1'b1;
            w_row_d = idx_q;
            k_d     = '0;
            idx_d   = idx_q + 32'd1;
          end else k_d = k_q + 32'd8;
        end
        // the rest of a row the section does not complete is dropped
        if (wbl_q == 0 && !use_ok) begin
          wcnt_d  = '0;
          sec_end = 1'b1;
        end
      end else begin
        // biases: two words per beat, one per cycle
        if (buf_hv[0] && wn_q != 0) begin
          b_en_d   = 1'b1;
          b_ch_d   = 16'(idx_q);
          b_data_d = wh_q ? buf_hd[63:32] : buf_hd[31:0];
          idx_d    = idx_q + 32'd1;
          wn_d     = wn_q - 32'd1;
          if (wh_q || wn_q == 32'd1) begin
            wc_pop = 1'b1;
            wbl_d  = wbl_q - 32'd1;
            wh_d   = 1'b0;
          end else wh_d = 1'b1;
        end else if (wn_q == 0 && wbl_q != 0 && buf_hv[0]) begin
          wc_pop = 1'b1;                // a beat past the last word (a section of < 4 bytes)
          wbl_d  = wbl_q - 32'd1;
        end
        if (wn_q == 0 && wbl_q == 0) sec_end = 1'b1;
      end

      2'd2: begin   // a pass-through stage: identity rows, zero biases
        if (wn_q != 0) begin
          if (!wc_p_q) begin
            // row = ci*9 + tap: weight 1 from channel ci to channel ci at the centre tap
            for (int b = 0; b < int'(ROW_W / 8); b++)
              if (gtap_q == 4'd4 && gci_q < gich_q && gci_q == 16'(b)) grow[b*8] = 1'b1;
            w_en_d   = 1'b1;
            w_row_d  = idx_q;
            rowbuf_d = grow;
            gtap_d   = (gtap_q == 4'd8) ? 4'd0 : gtap_q + 4'd1;
            if (gtap_q == 4'd8) gci_d = gci_q + 16'd1;
          end else begin
            b_en_d   = 1'b1;
            b_ch_d   = 16'(idx_q);
            b_data_d = '0;
          end
          idx_d = idx_q + 32'd1;
          wn_d  = wn_q - 32'd1;
        end else sec_end = 1'b1;
      end

      default: ;
    endcase

    if (sec_end) begin
      wc_k_d = 2'd0;
      if (wc_p_q) begin
        wc_p_d = 1'b0;
        wc_s_d = wc_s_q + 3'd1;
        if (wc_s_q == 3'd4) wc_on_d = 1'b0;
      end else wc_p_d = 1'b1;
    end
    if (start) begin
      wc_on_d = 1'b0;
      wc_k_d  = 2'd0;
    end
    if (go) begin
      wc_on_d = 1'b1;
      wc_s_d  = '0;
      wc_p_d  = 1'b0;
      wc_k_d  = 2'd0;
    end
  end

  // ---- channel 1: polarity bits and thresholds ---------------------------------------------
  always_comb begin
    logic sec_end;
    tc_on_d = tc_on_q;
    tc_s_d  = tc_s_q;
    tc_p_d  = tc_p_q;
    tc_k_d  = tc_k_q;
    tbl_d   = tbl_q;
    tn_d    = tn_q;
    th_d    = th_q;
    tidx_d  = tidx_q;
    tch_d   = tch_q;
    tich_d  = tich_q;
    tpix_d  = tpix_q;
    thw_d   = thw_q;
    pw_d    = pw_q;
    tc_pop  = 1'b0;
    pol_we  = 1'b0;
    pol_re  = 1'b0;
    tp_v_d  = 1'b0;
    tp_gen_d = tp_gen_q;
    tp_th_d  = tp_th_q;
    tp_pix_d = tp_pix_q;
    tp_ch_d  = tp_ch_q;
    tp_bit_d = tp_bit_q;
    tp_st_d  = tp_st_q;
    sec_end = 1'b0;

    unique case (tc_k_q)
      2'd0: if (tc_on_q) begin    // set up the section (tc_s_q, tc_p_q)
        logic        lay;
        logic [31:0] by, hw;
        logic [15:0] ich;
        lay = 1'b0;
        by  = '0;
        hw  = 32'd1;              // the fc stage: one pixel per channel
        ich = '0;
        for (int s = 0; s < 4; s++)
          if (tc_s_q == 3'(s)) begin
            lay = lof_q[s] != NONE;
            by  = tc_p_q ? sby_q[s][S_T] : sby_q[s][S_P];
            if (s < 3) begin
              hw  = 32'(c_hw_q[s*16 +: 16]);
              ich = ich_q[s];
            end
          end
        tidx_d = '0;
        tch_d  = '0;
        tpix_d = '0;
        thw_d  = hw;
        pw_d   = '0;
        th_d   = 1'b0;
        if (lay) begin
          if (by != 0) begin
            tc_k_d = 2'd1;
            tbl_d  = beats_of(by);
            tn_d   = tc_p_q ? by >> 2 : 32'd0;
          end else sec_end = 1'b1;
        end else if (tc_p_q) begin
          tc_k_d = 2'd2;          // a pass-through: zero thresholds, no polarity section
          tich_d = ich;
        end else sec_end = 1'b1;
      end

      2'd1: if (!tc_p_q) begin
        // polarity: a beat per cycle into the buffer (bit n of the section is
        // bit n mod 64 of word n / 64)
        if (buf_hv[1] && tbl_q != 0) begin
          tc_pop = 1'b1;
          pol_we = 1'b1;
          tbl_d  = tbl_q - 32'd1;
          pw_d   = pw_q + 1'b1;
        end
        if (tbl_q == 0) sec_end = 1'b1;
      end else begin
        // thresholds: two words per beat, one per cycle; the polarity word is
        // read, the write follows a cycle later
        if (buf_hv[1] && tn_q != 0) begin
          pol_re   = 1'b1;
          tp_v_d   = 1'b1;
          tp_gen_d = 1'b0;
          tp_th_d  = th_q ? buf_hd[127:96] : buf_hd[95:64];
          tp_bit_d = tidx_q[5:0];
          tp_ch_d  = tch_q;
          tp_pix_d = tpix_q;
          tp_st_d  = tc_s_q;
          tidx_d   = tidx_q + 32'd1;
          tn_d     = tn_q - 32'd1;
          if (tpix_q + 1 == thw_q) begin
            tpix_d = '0;
            tch_d  = tch_q + 16'd1;
          end else tpix_d = tpix_q + 32'd1;
          if (th_q || tn_q == 32'd1) begin
            tc_pop = 1'b1;
            tbl_d  = tbl_q - 32'd1;
            th_d   = 1'b0;
          end else th_d = 1'b1;
        end else if (tn_q == 0 && tbl_q != 0 && buf_hv[1]) begin
          tc_pop = 1'b1;                // a beat past the last word (a section of < 4 bytes)
          tbl_d  = tbl_q - 32'd1;
        end
        if (tn_q == 0 && tbl_q == 0) sec_end = 1'b1;
      end

      2'd2: begin   // a pass-through stage: ich * hw zero thresholds, positive polarity
        if (thw_q != 0 && tch_q < tich_q) begin
          tp_v_d   = 1'b1;
          tp_gen_d = 1'b1;
          tp_th_d  = '0;
          tp_ch_d  = tch_q;
          tp_pix_d = tpix_q;
          tp_st_d  = tc_s_q;
          if (tpix_q + 1 == thw_q) begin
            tpix_d = '0;
            tch_d  = tch_q + 16'd1;
          end else tpix_d = tpix_q + 32'd1;
        end else sec_end = 1'b1;
      end

      default: ;
    endcase

    if (sec_end) begin
      tc_k_d = 2'd0;
      if (tc_p_q) begin
        tc_p_d = 1'b0;
        tc_s_d = tc_s_q + 3'd1;
        if (tc_s_q == 3'd3) tc_on_d = 1'b0;
      end else tc_p_d = 1'b1;
    end
    if (start) begin
      tc_on_d = 1'b0;
      tc_k_d  = 2'd0;
    end
    if (go) begin
      tc_on_d = 1'b1;
      tc_s_d  = '0;
      tc_p_d  = 1'b0;
      tc_k_d  = 2'd0;
    end

    // the threshold write (its polarity word was read last cycle)
    t_en_d  = tp_v_q;
    t_st_d  = t_st_o;
    t_ch_d  = t_ch_o;
    t_pix_d = t_pix_o;
    t_th_d  = t_th_o;
    t_pol_d = t_pol_o;
    if (tp_v_q) begin
      t_st_d  = tp_st_q;
      t_ch_d  = tp_ch_q;
      t_pix_d = tp_pix_q;
      t_th_d  = tp_th_q;
      t_pol_d = !tp_gen_q && pol_rd_q[tp_bit_q];
    end
  end

  // polarity buffer (block RAM)
  logic [63:0] polbuf [PWD];
  always_ff @(posedge clk_i) begin
    if (pol_we) polbuf[pw_q] <= buf_hd[127:64];
    if (pol_re) pol_rd_q <= polbuf[PAW'(tidx_q >> 6)];
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      wc_on_q <= 1'b0;
      wc_k_q  <= 2'd0;
      tc_on_q <= 1'b0;
      tc_k_q  <= 2'd0;
      tp_v_q  <= 1'b0;
      w_en_o  <= 1'b0;
      b_en_o  <= 1'b0;
      t_en_o  <= 1'b0;
    end else begin
      wc_on_q <= wc_on_d;
      wc_k_q  <= wc_k_d;
      tc_on_q <= tc_on_d;
      tc_k_q  <= tc_k_d;
      tp_v_q  <= tp_v_d;
      w_en_o  <= w_en_d;
      b_en_o  <= b_en_d;
      t_en_o  <= t_en_d;
    end
  end

  always_ff @(posedge clk_i) begin
    wc_s_q   <= wc_s_d;
    wc_p_q   <= wc_p_d;
    wbl_q    <= wbl_d;
    wn_q     <= wn_d;
    win_q    <= win_d;
    wrp_q    <= wrp_d;
    wwp_q    <= wwp_d;
    wcnt_q   <= wcnt_d;
    oc_q     <= oc_d;
    k_q      <= k_d;
    idx_q    <= idx_d;
    rowbuf_q <= rowbuf_d;
    wh_q     <= wh_d;
    gtap_q   <= gtap_d;
    gci_q    <= gci_d;
    gich_q   <= gich_d;
    st_o     <= w_st_d;
    w_row_o  <= w_row_d;
    b_ch_o   <= b_ch_d;
    b_data_o <= b_data_d;
    tc_s_q   <= tc_s_d;
    tc_p_q   <= tc_p_d;
    tbl_q    <= tbl_d;
    tn_q     <= tn_d;
    th_q     <= th_d;
    tidx_q   <= tidx_d;
    tch_q    <= tch_d;
    tich_q   <= tich_d;
    tpix_q   <= tpix_d;
    thw_q    <= thw_d;
    pw_q     <= pw_d;
    tp_gen_q <= tp_gen_d;
    tp_th_q  <= tp_th_d;
    tp_pix_q <= tp_pix_d;
    tp_ch_q  <= tp_ch_d;
    tp_bit_q <= tp_bit_d;
    tp_st_q  <= tp_st_d;
    t_st_o   <= t_st_d;
    t_ch_o   <= t_ch_d;
    t_pix_o  <= t_pix_d;
    t_th_o   <= t_th_d;
    t_pol_o  <= t_pol_d;
  end

`ifdef SNN_ASSERT
  // Reservations stay within the buffers; beats arrive only for commands in flight.
  wire res_ok  = res_q[0] <= RCW'(BUF_D) && res_q[1] <= RCW'(BUF_D);
  wire idle_ok = !rq_valid && buf_hv == 2'b00 && is_left_q[0] == 0 && is_left_q[1] == 0;
  assert property (@(posedge clk_i) disable iff (!rst_ni) res_ok);
  assert property (@(posedge clk_i) disable iff (!rst_ni) dat_valid_i && busy_o |-> rq_valid);
  // Writes name a stage that has the port: weights and biases 0..4, thresholds 0..3.
  assert property (@(posedge clk_i) disable iff (!rst_ni) (w_en_o || b_en_o) |-> st_o < 3'd5);
  assert property (@(posedge clk_i) disable iff (!rst_ni) t_en_o |-> t_st_o < 3'd4);
  // A load ends with nothing in flight and nothing buffered.
  assert property (@(posedge clk_i) disable iff (!rst_ni)
                   done_o |-> idle_ok);
`endif

endmodule
