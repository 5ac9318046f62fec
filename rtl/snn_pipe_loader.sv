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
// thresholds and polarity bits into the stages' memories over one shared load
// bus (st_o selects the stage).
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
// nofit_o, and the kernel writes records with pred = -1.
//
// Bandwidth: weights go one byte per cycle into a row register of out_c bytes,
// biases and thresholds one word per cycle, polarity bytes into a buffer
// first (the threshold pass reads it). Loading is once per model, so its
// speed does not enter the steady state.
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
  parameter int unsigned POL_N  = 65536            // polarity bits buffered (max neurons of a stage)
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
  // load bus (one stage at a time)
  output logic [2:0]         st_o,          // stage being loaded
  output logic               w_en_o,        // weight row
  output logic [31:0]        w_row_o,
  output logic [ROW_W-1:0]   w_data_o,
  output logic               b_en_o,        // bias of channel b_ch_o
  output logic [15:0]        b_ch_o,
  output logic [31:0]        b_data_o,
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
  localparam int unsigned PBW = (POL_N + 7) / 8;
  localparam int unsigned PAW = (PBW > 1) ? $clog2(PBW) : 1;

  function automatic int unsigned cmax(input int unsigned s, input int unsigned which);
    // which: 0 cin, 1 cout, 2 h, 3 w
    case (s)
      0: cmax = which == 0 ? C0_CIN : which == 1 ? C0_COUT : which == 2 ? C0_H : C0_W;
      1: cmax = which == 0 ? C1_CIN : which == 1 ? C1_COUT : which == 2 ? C1_H : C1_W;
      default: cmax = which == 0 ? C2_CIN : which == 1 ? C2_COUT : which == 2 ? C2_H : C2_W;
    endcase
  endfunction

  // ---- header and descriptors -----------------------------------------------------
  logic [31:0] hdr_q  [16];
  logic [31:0] desc_q [16 * 20];
  // descriptor word offsets
  localparam int unsigned D_KIND = 0, D_INC = 1, D_INH = 2, D_INW = 3, D_OUTC = 4, D_OUTH = 5,
                          D_OUTW = 6, D_WOFF = 8, D_WBYTES = 9, D_BOFF = 10, D_BBYTES = 11,
                          D_THOFF = 12, D_THBYTES = 13, D_POLOFF = 14, D_POLBYTES = 15;
  function automatic logic [31:0] dsc(input logic [4:0] l, input int unsigned f);
    dsc = desc_q[int'(l) * 20 + f];
  endfunction

  // ---- states -------------------------------------------------------------------------
  typedef enum logic [3:0] {
    L_IDLE, L_HDR, L_DESC, L_MAP, L_CHECK, L_SEC, L_GEN, L_NEXT, L_DONE
  } state_t;
  state_t st_q;

  // ---- section reader: a command, then its beats unpacked into bytes or words ---------
  logic          cmd_pend_q;       // command not yet accepted
  logic [23:0]   beats_left_q;     // beats still to arrive
  logic [63:0]   beat_q;
  logic [3:0]    in_beat_q;        // items left in beat_q
  logic          bytes_q;          // 1: byte items, 0: word items
  logic [31:0]   items_left_q;     // items of the section still to deliver
  logic [31:0]   item_idx_q;       // index of the next item

  wire        item_valid = in_beat_q != 0 && items_left_q != 0;
  wire [31:0] item       = bytes_q ? {24'd0, beat_q[7:0]} : beat_q[31:0];
  wire        item_last_of_beat = in_beat_q == 4'd1 || items_left_q == 32'd1;
  assign dat_ready_o = beats_left_q != 0 && (in_beat_q == 0 || (item_valid && item_last_of_beat));

  assign cmd_valid_o = cmd_pend_q;

  // ---- what is being loaded -------------------------------------------------------------
  // phase of a stage: 0 weights, 1 biases, 2 polarity, 3 thresholds
  logic [2:0]  stg_q;
  logic [1:0]  ph_q;
  logic [4:0]  lay_q;              // layer of the stage (NONE: pass-through)
  logic [31:0] oc_q;               // bytes per weight row (out_c of the layer)
  logic [31:0] k_q;                // byte within the row
  logic [31:0] row_q;              // row being assembled
  logic [ROW_W-1:0] rowbuf_q;
  logic [31:0] hw_q;               // pixels per channel of the threshold pass
  logic [31:0] pix_q;              // pixel of the next threshold
  logic [15:0] ch_q;               // channel of the next threshold
  logic [31:0] gen_n_q, gen_i_q;   // pass-through generation: items, next item

  // polarity buffer (bytes)
  logic [7:0]  polbuf [PBW];
  logic [7:0]  pol_rd_q;
  logic        th_pend_q;          // a threshold waits for its polarity byte
  logic [31:0] th_pend_val_q;
  logic [2:0]  th_pend_bit_q;
  logic [15:0] th_pend_ch_q;
  logic [31:0] th_pend_pix_q;
  logic [2:0]  th_pend_st_q;

  // ---- mapping state ---------------------------------------------------------------------
  logic [4:0]  ml_q;               // layer being mapped
  logic [1:0]  ns_q;               // next conv stage
  logic        fc_seen_q, out_seen_q, bad_q;
  logic [4:0]  fc_layer_q;
  logic [2:0]  ident_q;            // conv stage s is a pass-through
  logic [15:0] ich_q [3];          // pass-through channels
  logic [4:0]  lof_q [5], pof_q [5];

  always_comb
    for (int s = 0; s < 5; s++) begin
      layer_of_o[s*5 +: 5] = lof_q[s];
      pool_of_o[s*5 +: 5]  = pof_q[s];
    end

  assign busy_o = st_q != L_IDLE;

  // ---- the fit check of one conv stage (combinational) ----------------------------------
  logic fit_ok;
  always_comb begin
    fit_ok = !bad_q && fc_seen_q && out_seen_q && hdr_q[5] <= 32'(TM) && hdr_q[5] >= 1 &&
             hdr_q[9] <= 32'(O_COUT) && {27'd0, lof_q[0]} == 32'd0;
    for (int s = 0; s < 3; s++) begin
      logic [31:0] cin, cout, h, w;
      if (lof_q[s] != NONE) begin
        cin  = dsc(lof_q[s], D_INC);
        cout = dsc(lof_q[s], D_OUTC);
        h    = dsc(lof_q[s], D_INH);
        w    = dsc(lof_q[s], D_INW);
      end else begin
        cin  = 32'(ich_q[s]);
        cout = 32'(ich_q[s]);
        h    = c_h_o[s*16 +: 16];
        w    = c_w_o[s*16 +: 16];
      end
      if (cin > 32'(cmax(s, 0)) || cout > 32'(cmax(s, 1)) || h > 32'(cmax(s, 2)) ||
          w > 32'(cmax(s, 3)) || h == 0 || w == 0)
        fit_ok = 1'b0;
    end
    if (lof_q[3] != NONE) begin
      if (dsc(lof_q[3], D_INC) > 32'(F_CIN) ||
          dsc(lof_q[3], D_INH) * dsc(lof_q[3], D_INW) > 32'(F_HW) ||
          dsc(lof_q[3], D_OUTC) > 32'(F_COUT))
        fit_ok = 1'b0;
    end else fit_ok = 1'b0;
    if (lof_q[4] == NONE) fit_ok = 1'b0;
  end

  // ---- sections of the current stage and phase --------------------------------------------
  // returns: 0 skip, 1 stream from memory, 2 generate (pass-through)
  logic [1:0]  sec_kind;
  logic [31:0] sec_off, sec_bytes, sec_items;
  logic        sec_is_bytes;
  always_comb begin
    sec_kind = 2'd0;
    sec_off = '0;
    sec_bytes = '0;
    sec_items = '0;
    sec_is_bytes = 1'b0;
    if (lay_q != NONE) begin
      case (ph_q)
        2'd0: begin
          sec_kind = 2'd1; sec_off = dsc(lay_q, D_WOFF); sec_bytes = dsc(lay_q, D_WBYTES);
          sec_items = sec_bytes; sec_is_bytes = 1'b1;
        end
        2'd1: begin
          sec_kind = 2'd1; sec_off = dsc(lay_q, D_BOFF); sec_bytes = dsc(lay_q, D_BBYTES);
          sec_items = sec_bytes >> 2;
        end
        2'd2: if (stg_q != 3'd4) begin
          sec_kind = 2'd1; sec_off = dsc(lay_q, D_POLOFF); sec_bytes = dsc(lay_q, D_POLBYTES);
          sec_items = sec_bytes; sec_is_bytes = 1'b1;
        end
        default: if (stg_q != 3'd4) begin
          sec_kind = 2'd1; sec_off = dsc(lay_q, D_THOFF); sec_bytes = dsc(lay_q, D_THBYTES);
          sec_items = sec_bytes >> 2;
        end
      endcase
    end else if (ph_q != 2'd2) begin
      sec_kind = 2'd2;   // pass-through: rows, biases, thresholds generated
    end
  end

  // pass-through items: rows 9*CIN (all rows, so stale weights are zeroed),
  // biases COUT, thresholds ich * hw
  function automatic logic [31:0] gen_items(input logic [2:0] s, input logic [1:0] ph,
                                             input logic [15:0] ich, input logic [31:0] hw);
    case (ph)
      2'd0: gen_items = 32'(9 * cmax(int'(s), 0));
      2'd1: gen_items = 32'(cmax(int'(s), 1));
      default: gen_items = 32'(ich) * hw;
    endcase
  endfunction

  logic [15:0] ich_cur;
  assign ich_cur = ich_q[stg_q < 3'd3 ? int'(stg_q) : 0];

  // ---- main sequencer ------------------------------------------------------------------------
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q       <= L_IDLE;
      cmd_pend_q <= 1'b0;
      beats_left_q <= '0;
      in_beat_q  <= '0;
      items_left_q <= '0;
      done_o     <= 1'b0;
      w_en_o     <= 1'b0;
      b_en_o     <= 1'b0;
      t_en_o     <= 1'b0;
      th_pend_q  <= 1'b0;
      nofit_o    <= 1'b0;
    end else begin
      done_o <= 1'b0;
      w_en_o <= 1'b0;
      b_en_o <= 1'b0;
      t_en_o <= 1'b0;

      if (cmd_valid_o && cmd_ready_i) cmd_pend_q <= 1'b0;

      // beats in
      if (dat_valid_i && dat_ready_o) begin
        beat_q       <= dat_i;
        in_beat_q    <= bytes_q ? 4'd8 : 4'd2;
        beats_left_q <= beats_left_q - 1'b1;
      end else if (item_valid) begin
        beat_q    <= bytes_q ? (beat_q >> 8) : (beat_q >> 32);
        in_beat_q <= (items_left_q == 32'd1) ? 4'd0 : in_beat_q - 1'b1;
      end
      if (item_valid) begin
        items_left_q <= items_left_q - 1'b1;
        item_idx_q   <= item_idx_q + 1'b1;
      end

      // the threshold waiting for its polarity byte leaves
      if (th_pend_q) begin
        t_en_o    <= 1'b1;
        t_ch_o    <= th_pend_ch_q;
        t_pix_o   <= th_pend_pix_q;
        t_th_o    <= th_pend_val_q;
        t_pol_o   <= pol_rd_q[th_pend_bit_q];
        th_pend_q <= 1'b0;
      end

      case (st_q)
        L_IDLE: if (start_i) begin
          st_q         <= L_HDR;
          cmd_pend_q   <= 1'b1;
          cmd_addr_o   <= model_i;
          cmd_beats_o  <= 24'd8;
          beats_left_q <= 24'd8;
          bytes_q      <= 1'b0;
          items_left_q <= 32'd16;
          item_idx_q   <= '0;
          nofit_o      <= 1'b0;
          bad_q        <= 1'b0;
        end

        L_HDR: begin
          if (item_valid) hdr_q[item_idx_q[3:0]] <= item;
          if (items_left_q == 32'd1 && item_valid) begin
            // n_layers at word 4, desc_off at word 10: the descriptors follow
            st_q <= L_DESC;
          end
        end

        L_DESC: begin
          if (!cmd_pend_q && beats_left_q == 0 && items_left_q == 0 && in_beat_q == 0 &&
              st_q == L_DESC && item_idx_q == 32'd16) begin
            if (hdr_q[4] == 0 || hdr_q[4] > 32'd16) begin
              bad_q <= 1'b1;
              st_q  <= L_CHECK;
            end else begin
              cmd_pend_q   <= 1'b1;
              cmd_addr_o   <= model_i + GA'(hdr_q[10]);
              cmd_beats_o  <= 24'(hdr_q[4] * 10);
              beats_left_q <= 24'(hdr_q[4] * 10);
              items_left_q <= hdr_q[4] * 20;
              item_idx_q   <= 32'd17;       // marker: descriptor items follow (index - 17)
            end
          end else if (item_idx_q >= 32'd17) begin
            if (item_valid) desc_q[item_idx_q - 32'd17] <= item;
            if (item_valid && items_left_q == 32'd1) begin
              st_q       <= L_MAP;
              ml_q       <= '0;
              ns_q       <= '0;
              fc_seen_q  <= 1'b0;
              out_seen_q <= 1'b0;
              ident_q    <= '0;
              for (int s = 0; s < 5; s++) begin
                lof_q[s] <= NONE;
                pof_q[s] <= NONE;
              end
            end
          end
        end

        L_MAP: begin
          // one layer per cycle
          logic [31:0] kind;
          kind = dsc(ml_q, D_KIND);
          if (out_seen_q) bad_q <= 1'b1;        // a layer after out
          case (kind)
            32'd1: begin   // conv
              if (fc_seen_q || ns_q == 2'd3) bad_q <= 1'b1;
              else begin
                lof_q[ns_q] <= ml_q;
                c_h_o[ns_q*16 +: 16]  <= 16'(dsc(ml_q, D_INH));
                c_w_o[ns_q*16 +: 16]  <= 16'(dsc(ml_q, D_INW));
                c_hw_o[ns_q*16 +: 16] <= 16'(dsc(ml_q, D_INH) * dsc(ml_q, D_INW));
                c_cout_o[ns_q*16 +: 16] <= 16'(dsc(ml_q, D_OUTC));
                c_oh_o[ns_q*16 +: 16] <= 16'(dsc(ml_q, D_INH));
                c_ow_o[ns_q*16 +: 16] <= 16'(dsc(ml_q, D_INW));
                c_pool_o[ns_q]        <= 1'b0;
                ns_q <= ns_q + 1'b1;
              end
            end
            32'd2: begin   // pool: fold into the last stage, or a pass-through
              if (ml_q == 0 || fc_seen_q) bad_q <= 1'b1;
              else if (pof_q[ns_q - 1'b1] == NONE) begin
                pof_q[ns_q - 1'b1]            <= ml_q;
                c_pool_o[ns_q - 1'b1]         <= 1'b1;
                c_oh_o[(ns_q - 1'b1)*16 +: 16] <= 16'(dsc(ml_q, D_OUTH));
                c_ow_o[(ns_q - 1'b1)*16 +: 16] <= 16'(dsc(ml_q, D_OUTW));
              end else if (ns_q == 2'd3) bad_q <= 1'b1;
              else begin
                ident_q[ns_q]          <= 1'b1;
                ich_q[ns_q]            <= 16'(dsc(ml_q, D_INC));
                pof_q[ns_q]            <= ml_q;
                c_h_o[ns_q*16 +: 16]   <= 16'(dsc(ml_q, D_INH));
                c_w_o[ns_q*16 +: 16]   <= 16'(dsc(ml_q, D_INW));
                c_hw_o[ns_q*16 +: 16]  <= 16'(dsc(ml_q, D_INH) * dsc(ml_q, D_INW));
                c_cout_o[ns_q*16 +: 16] <= 16'(dsc(ml_q, D_INC));
                c_oh_o[ns_q*16 +: 16]  <= 16'(dsc(ml_q, D_OUTH));
                c_ow_o[ns_q*16 +: 16]  <= 16'(dsc(ml_q, D_OUTW));
                c_pool_o[ns_q]         <= 1'b1;
                ns_q <= ns_q + 1'b1;
              end
            end
            32'd3: begin   // fc: the remaining conv stages pass through
              if (ml_q == 0 || fc_seen_q) bad_q <= 1'b1;
              else begin
                fc_seen_q  <= 1'b1;
                fc_layer_q <= ml_q;
                lof_q[3]   <= ml_q;
                f_hw_o     <= 16'(dsc(ml_q, D_INH) * dsc(ml_q, D_INW));
                f_cout_o   <= 16'(dsc(ml_q, D_OUTC));
                for (int s = 1; s < 3; s++)
                  if (32'(s) >= 32'(ns_q)) begin
                    ident_q[s]          <= 1'b1;
                    ich_q[s]            <= 16'(dsc(ml_q, D_INC));
                    c_h_o[s*16 +: 16]   <= 16'(dsc(ml_q, D_INH));
                    c_w_o[s*16 +: 16]   <= 16'(dsc(ml_q, D_INW));
                    c_hw_o[s*16 +: 16]  <= 16'(dsc(ml_q, D_INH) * dsc(ml_q, D_INW));
                    c_cout_o[s*16 +: 16] <= 16'(dsc(ml_q, D_INC));
                    c_oh_o[s*16 +: 16]  <= 16'(dsc(ml_q, D_INH));
                    c_ow_o[s*16 +: 16]  <= 16'(dsc(ml_q, D_INW));
                    c_pool_o[s]         <= 1'b0;
                  end
                if (ns_q == 2'd0) bad_q <= 1'b1;
                ns_q <= 2'd3;
              end
            end
            default: begin // out: directly after the fc layer
              if (!fc_seen_q || ml_q != fc_layer_q + 1'b1) bad_q <= 1'b1;
              out_seen_q <= 1'b1;
              lof_q[4]   <= ml_q;
            end
          endcase
          if (32'(ml_q) + 1 == hdr_q[4]) st_q <= L_CHECK;
          ml_q <= ml_q + 1'b1;
        end

        L_CHECK: begin
          for (int l = 0; l < 16; l++) begin
            lay_c_o[l*16 +: 16]  <= 16'(desc_q[l * 20 + D_OUTC]);
            lay_h_o[l*16 +: 16]  <= 16'(desc_q[l * 20 + D_OUTH]);
            lay_w_o[l*16 +: 16]  <= 16'(desc_q[l * 20 + D_OUTW]);
            lay_stage_o[l*3 +: 3] <= 3'd7;
            lay_pool_o[l]         <= 1'b0;
            for (int s = 0; s < 5; s++) begin
              if (lof_q[s] == 5'(l)) lay_stage_o[l*3 +: 3] <= 3'(s);
              if (pof_q[s] == 5'(l)) begin
                lay_stage_o[l*3 +: 3] <= 3'(s);
                lay_pool_o[l]         <= 1'b1;
              end
            end
          end
          t_steps_o   <= 5'(hdr_q[5]);
          n_classes_o <= 7'(hdr_q[9]);
          n_layers_o  <= 5'(hdr_q[4]);
          in_c_o      <= 16'(hdr_q[6]);
          in_h_o      <= 16'(hdr_q[7]);
          in_w_o      <= 16'(hdr_q[8]);
          px_bytes_o  <= hdr_q[6] * hdr_q[7] * hdr_q[8];
          if (!fit_ok) begin
            nofit_o <= 1'b1;
            st_q    <= L_DONE;
          end else begin
            stg_q <= '0;
            ph_q  <= '0;
            lay_q <= lof_q[0];
            st_q  <= L_NEXT;
          end
        end

        // start the section of (stg_q, ph_q)
        L_NEXT: begin
          k_q      <= '0;
          row_q    <= '0;
          rowbuf_q <= '0;
          ch_q     <= '0;
          pix_q    <= '0;
          oc_q     <= (lay_q != NONE) ? dsc(lay_q, D_OUTC) : 32'(ich_cur);
          hw_q     <= (stg_q < 3'd3) ? 32'(c_hw_o[stg_q*16 +: 16]) : 32'd1;
          if (sec_kind == 2'd1) begin
            cmd_pend_q   <= 1'b1;
            cmd_addr_o   <= model_i + GA'(sec_off);
            cmd_beats_o  <= 24'((sec_bytes + 32'd7) >> 3);
            beats_left_q <= 24'((sec_bytes + 32'd7) >> 3);
            items_left_q <= sec_items;
            item_idx_q   <= '0;
            bytes_q      <= sec_is_bytes;
            st_q         <= L_SEC;
          end else if (sec_kind == 2'd2) begin
            gen_n_q <= gen_items(stg_q, ph_q, ich_cur, 32'(c_hw_o[(stg_q < 3'd3 ? int'(stg_q) : 0)*16 +: 16]));
            gen_i_q <= '0;
            st_q    <= L_GEN;
          end else begin
            // nothing in this phase: advance
            if (ph_q == 2'd3 || (stg_q == 3'd4 && ph_q == 2'd1)) begin
              if (stg_q == 3'd4) st_q <= L_DONE;
              else begin
                stg_q <= stg_q + 1'b1;
                ph_q  <= '0;
                lay_q <= lof_q[stg_q + 1'b1];
              end
            end else ph_q <= ph_q + 1'b1;
          end
        end

        L_SEC: begin
          if (item_valid) begin
            case (ph_q)
              2'd0: begin  // weight bytes into rows of out_c bytes
                logic [ROW_W-1:0] nb;
                nb = rowbuf_q;
                nb[k_q*8 +: 8] = item[7:0];
                if (k_q + 1 == oc_q) begin
                  w_en_o   <= 1'b1;
                  w_row_o  <= row_q;
                  w_data_o <= nb;
                  rowbuf_q <= '0;
                  k_q      <= '0;
                  row_q    <= row_q + 1'b1;
                end else begin
                  rowbuf_q <= nb;
                  k_q      <= k_q + 1'b1;
                end
              end
              2'd1: begin
                b_en_o   <= 1'b1;
                b_ch_o   <= 16'(item_idx_q);
                b_data_o <= item;
              end
              2'd2: polbuf[PAW'(item_idx_q)] <= item[7:0];
              default: begin  // thresholds: the polarity byte is read, the write follows
                pol_rd_q      <= polbuf[PAW'(item_idx_q >> 3)];
                th_pend_q     <= 1'b1;
                th_pend_val_q <= item;
                th_pend_bit_q <= item_idx_q[2:0];
                th_pend_ch_q  <= ch_q;
                th_pend_pix_q <= pix_q;
                th_pend_st_q  <= stg_q;
                if (pix_q + 1 == hw_q) begin
                  pix_q <= '0;
                  ch_q  <= ch_q + 1'b1;
                end else pix_q <= pix_q + 1'b1;
              end
            endcase
          end
          if (!cmd_pend_q && beats_left_q == 0 && (items_left_q == 0 ||
              (item_valid && items_left_q == 32'd1))) begin
            st_q <= L_NEXT;
            if (ph_q == 2'd3 || (stg_q == 3'd4 && ph_q == 2'd1)) begin
              if (stg_q == 3'd4) st_q <= L_DONE;
              else begin
                stg_q <= stg_q + 1'b1;
                ph_q  <= '0;
                lay_q <= lof_q[stg_q + 1'b1];
              end
            end else ph_q <= ph_q + 1'b1;
          end
        end

        L_GEN: begin   // a pass-through stage: identity rows, zero biases and thresholds
          if (gen_i_q < gen_n_q) begin
            case (ph_q)
              2'd0: begin
                logic [ROW_W-1:0] r;
                r = '0;
                // row = ci*9 + tap: weight 1 from channel ci to channel ci at the centre tap
                if (gen_i_q % 9 == 4 && gen_i_q / 9 < 32'(ich_cur)) r[(gen_i_q / 9)*8 +: 8] = 8'd1;
                w_en_o   <= 1'b1;
                w_row_o  <= gen_i_q;
                w_data_o <= r;
              end
              2'd1: begin
                b_en_o   <= 1'b1;
                b_ch_o   <= 16'(gen_i_q);
                b_data_o <= '0;
              end
              default: begin
                t_en_o  <= 1'b1;
                t_ch_o  <= ch_q;
                t_pix_o <= pix_q;
                t_th_o  <= '0;
                t_pol_o <= 1'b0;
                if (pix_q + 1 == hw_q) begin
                  pix_q <= '0;
                  ch_q  <= ch_q + 1'b1;
                end else pix_q <= pix_q + 1'b1;
              end
            endcase
            gen_i_q <= gen_i_q + 1'b1;
          end else begin
            st_q <= L_NEXT;
            if (ph_q == 2'd3) begin
              stg_q <= stg_q + 1'b1;
              ph_q  <= '0;
              lay_q <= lof_q[stg_q + 1'b1];
            end else if (ph_q == 2'd1) ph_q <= 2'd3;   // no polarity section
            else ph_q <= ph_q + 1'b1;
          end
        end

        L_DONE: if (!th_pend_q) begin
          st_q   <= L_IDLE;
          done_o <= 1'b1;
        end

        default: st_q <= L_IDLE;
      endcase
    end
  end

  // st_o names the stage of the write leaving this cycle (the threshold
  // that waited for its polarity byte carries its own)
  always_ff @(posedge clk_i)
    st_o <= th_pend_q ? th_pend_st_q : stg_q;

endmodule
