// snn_loader - reads the deploy image at the start of every run: the header,
// then per layer its descriptor, the derived configuration (shapes, lane
// groups, on-chip base addresses, spike-map and trace geometry, the fit check
// of docs/rtl.md) and its sections (weights, bias, thresholds, polarity),
// which it scatters into the lane-banked on-chip memories:
//
//   weights    lane o%L, address w_base + row*grp + o/L  (one L-byte word per row and group)
//   bias       lane o%L, address b_base + o/L
//   threshold  lane c%L, address th_base + (c/L)*HW + p  (and the polarity bit beside it)
//
// One element (byte, word or polarity bit) is consumed per cycle, the beat
// being replaced in the cycle its last element is used. Shape arithmetic uses
// one pipelined multiplier, a few cycles per product.
//
// status_o: 0 loaded, 1 header unusable (nothing may be written), 2 a layer
// exceeds the compile-time maxima or the descriptors do not chain.
`default_nettype none

module snn_loader
  import snn_pkg::*;
#(
  parameter int unsigned LANES      = 8,      // accumulate lanes (power of two)
  parameter int unsigned GA         = 64,     // AXI address bits
  parameter int unsigned MAX_LAYERS = 16,     // layers
  parameter int unsigned MAX_T      = 16,     // time steps
  parameter int unsigned MAX_CLASSES = 64,    // classes
  parameter int unsigned MAX_PIXELS = 4096,   // pixels of one image
  parameter int unsigned ACC_DEPTH  = 8192,   // accumulator / membrane words per lane
  parameter int unsigned TH_DEPTH   = 16384,  // threshold words per lane
  parameter int unsigned W_DEPTH    = 131072, // weight words per lane
  parameter int unsigned B_DEPTH    = 1024,   // bias words per lane
  parameter int unsigned BM_DEPTH   = 2048,   // spike-map words per lane and buffer
  parameter int unsigned WAW = $clog2(W_DEPTH),  // weight address bits
  parameter int unsigned BAW = $clog2(B_DEPTH),  // bias address bits
  parameter int unsigned TAW = $clog2(TH_DEPTH)  // threshold address bits
) (
  input  wire                   clk_i,
  input  wire                   rst_ni,
  input  wire                   start_i,
  input  wire [GA-1:0]          model_i,
  output logic                  done_o,        // one-cycle pulse, status_o valid
  output logic [1:0]            status_o,
  // read engine
  output logic                  cmd_valid_o,
  input  wire                   cmd_ready_i,
  output logic [GA-1:0]         cmd_addr_o,
  output logic [23:0]           cmd_beats_o,
  input  wire                   dat_valid_i,
  output logic                  dat_ready_o,
  input  wire [63:0]            dat_data_i,
  // image-wide configuration
  output logic [4:0]            n_layers_o,
  output logic [4:0]            t_o,
  output logic [6:0]            n_classes_o,
  output logic [AddrW-1:0]      n_pix_o,       // bytes per image
  output logic [AddrW-1:0]      trace_step_o,  // trace words of one step
  output logic [AddrW-1:0]      trace_words_o, // trace words of one image
  output logic [AddrW-1:0]      rec_words_o,   // result record words (multiple of 16)
  output logic [8:0]            gpi_o,         // post groups per image
  output layer_cfg_t [MAX_LAYERS-1:0] cfg_o,
  // memory writes
  output logic                  w_we_o,
  output logic [WAW-1:0]        w_addr_o,
  output logic [LANES*8-1:0]    w_data_o,
  output logic [LANES-1:0]      b_we_o,
  output logic [BAW-1:0]        b_addr_o,
  output logic [31:0]           b_data_o,
  output logic [LANES-1:0]      th_we_o,
  output logic [LANES-1:0]      pol_we_o,
  output logic [TAW-1:0]        th_addr_o,
  output logic [31:0]           th_data_o,
  output logic                  pol_data_o
);

  localparam int unsigned LW = (LANES > 1) ? $clog2(LANES) : 1;
  localparam int unsigned LS = $clog2(LANES);   // log2 LANES (0 for one lane)
  localparam int unsigned LIW = $clog2(MAX_LAYERS);  // layer index bits

  localparam logic [1:0] StatusOk = 2'd0, StatusBad = 2'd1, StatusNoFit = 2'd2;

  typedef enum logic [3:0] {
    SIdle, SHdrCmd, SHdrDat, SHdrChk, SDescCmd, SDescDat, SCfg, SCheck, SSecCmd, SSecDat,
    SNextSec, SFinal, SDone
  } state_e;

  // Sections of one layer, in load order.
  typedef enum logic [1:0] { SecW, SecB, SecTh, SecPol } sec_e;

  state_e      state_q, state_d;
  logic [31:0] hdr_q [16];
  logic [31:0] desc_q [DescWords];
  logic [3:0]  beat_idx_q;       // beat of the header / descriptor
  logic [4:0]  layer_q;          // layer being loaded
  logic [3:0]  step_q;           // shape arithmetic step
  logic [1:0]  phase_q;          // multiplier phase of a step
  sec_e        sec_q;
  logic [1:0]  status_q;
  logic [LIW-1:0] li;            // layer_q as an index
  assign li = layer_q[LIW-1:0];

  // ---- header fields -------------------------------------------------------------
  logic [31:0] h_nl, h_t, h_nc, h_inc, h_inh, h_inw;
  assign h_nl  = hdr_q[4];
  assign h_t   = hdr_q[5];
  assign h_inc = hdr_q[6];
  assign h_inh = hdr_q[7];
  assign h_inw = hdr_q[8];
  assign h_nc  = hdr_q[9];

  // ---- descriptor fields -------------------------------------------------------
  logic [31:0] d_kind, d_inc, d_inh, d_inw, d_outc, d_outh, d_outw;
  assign d_kind = desc_q[0];
  assign d_inc  = desc_q[1];
  assign d_inh  = desc_q[2];
  assign d_inw  = desc_q[3];
  assign d_outc = desc_q[4];
  assign d_outh = desc_q[5];
  assign d_outw = desc_q[6];

  logic is_conv, is_pool, is_fc, is_out, is_lif, is_last;
  assign is_conv = (d_kind == 32'(KindConv));
  assign is_pool = (d_kind == 32'(KindPool));
  assign is_fc   = (d_kind == 32'(KindFc));
  assign is_out  = (d_kind == 32'(KindOut));
  assign is_lif  = is_conv || is_fc;
  assign is_last = (32'(layer_q) == h_nl - 1);

  // ---- derived values of the current layer --------------------------------------
  logic [63:0] hw_out_q, hw_in_q, n_out_q, nacc_q, rows_q, wrows_q, wbytes_q, gh_q, wps_q, twps_q;
  logic [63:0] n_in_q;
  logic [DimW-1:0] grp;
  logic [4:0]      last_lanes;
  logic [7:0]      wpr;
  assign grp        = DimW'((d_outc[DimW-1:0] + DimW'(LANES - 1)) >> LS);
  assign last_lanes = 5'(((d_outc[4:0] - 5'd1) & 5'(LANES - 1)) + 5'd1);
  assign wpr        = 8'((d_outw[DimW-1:0] + DimW'(31)) >> 5);

  // Running sums over layers (wide enough never to wrap before the check fails).
  logic [39:0] th_sum_q, w_sum_q, b_sum_q, tr_sum_q;
  logic [4:0]  lif_cnt_q;        // LIF layers so far
  logic [4:0]  last_lif_q;       // index among LIF layers of the latest one

  // ---- multiplier --------------------------------------------------------------------
  logic [31:0] mul_a, mul_b;
  logic [63:0] mul_p;

  function automatic logic [31:0] sat32(input logic [63:0] v);
    sat32 = (v[63:32] != '0) ? 32'hFFFF_FFFF : v[31:0];
  endfunction

  snn_mul #(.AW(32), .BW(32), .PW(64)) u_mul (
    .clk_i (clk_i),
    .en_i  (1'b1),
    .a_i   (mul_a),
    .b_i   (mul_b),
    .p_o   (mul_p)
  );

  // Steps of the shape arithmetic of one layer (see the case below).
  localparam logic [3:0] StepLast = 4'd11;
  always_comb begin
    mul_a = 32'd0;
    mul_b = 32'd0;
    unique case (step_q)
      4'd0:  begin mul_a = d_outh;                          mul_b = d_outw;              end
      4'd1:  begin mul_a = d_inh;                           mul_b = d_inw;               end
      4'd2:  begin mul_a = d_outc;                          mul_b = sat32(hw_out_q);     end
      4'd3:  begin mul_a = 32'(grp);                        mul_b = sat32(hw_out_q);     end
      4'd4:  begin mul_a = is_conv ? 32'd9 : d_inc;         mul_b = is_conv ? d_inc : sat32(hw_in_q); end
      4'd5:  begin mul_a = sat32(rows_q);                   mul_b = 32'(grp);            end
      4'd6:  begin mul_a = sat32(rows_q);                   mul_b = d_outc;              end
      4'd7:  begin mul_a = 32'(grp);                        mul_b = d_outh;              end
      4'd8:  begin mul_a = sat32(gh_q);                     mul_b = 32'(wpr);            end
      4'd9:  begin mul_a = sat32(wps_q);                    mul_b = h_t;                 end
      4'd10: begin mul_a = d_inc;                           mul_b = sat32(hw_in_q);      end
      default: ;
    endcase
  end

  // ---- checks of the current layer -----------------------------------------------
  function automatic logic dim_ok(input logic [31:0] v);
    dim_ok = (v != 32'd0) && (v <= 32'd4096);
  endfunction

  logic prev_ok, shape_ok, fit_ok;
  layer_cfg_t prev;
  logic [LIW-1:0] prev_i;
  assign prev_i = (li == '0) ? li : li - 1'b1;
  assign prev   = cfg_o[prev_i];

  always_comb begin
    // the input of layer l is the output of layer l-1 (layer 0: the image)
    if (layer_q == 5'd0)
      prev_ok = (d_inc == h_inc) && (d_inh == h_inh) && (d_inw == h_inw) && !is_pool;
    else
      prev_ok = (d_inc == 32'(prev.out_c)) && (d_inh == 32'(prev.out_h)) &&
                (d_inw == 32'(prev.out_w));
    shape_ok = dim_ok(d_inc) && dim_ok(d_inh) && dim_ok(d_inw) &&
               dim_ok(d_outc) && dim_ok(d_outh) && dim_ok(d_outw) &&
               (is_out == is_last) && (is_conv || is_pool || is_fc || is_out) &&
               (!is_out || d_outc == h_nc);
    if (is_conv) shape_ok = shape_ok && (d_outh == d_inh) && (d_outw == d_inw);
    if (is_pool) shape_ok = shape_ok && (d_outc == d_inc) && (d_outh == d_inh >> 1) &&
                            (d_outw == d_inw >> 1);
    if (is_fc || is_out) shape_ok = shape_ok && (d_outh == 32'd1) && (d_outw == 32'd1);
    fit_ok = 1'b1;
    if (!is_pool) begin
      if (nacc_q > 64'(ACC_DEPTH)) fit_ok = 1'b0;
      if (64'(w_sum_q) + wrows_q > 64'(W_DEPTH)) fit_ok = 1'b0;
      if (b_sum_q + 40'(grp) > 40'(B_DEPTH)) fit_ok = 1'b0;
    end
    if (is_lif && 64'(th_sum_q) + nacc_q > 64'(TH_DEPTH)) fit_ok = 1'b0;
    if (!is_last && twps_q > 64'(BM_DEPTH)) fit_ok = 1'b0;
    if (layer_q == 5'd0 && n_in_q > 64'(MAX_PIXELS)) fit_ok = 1'b0;
  end

  // The configuration record of the current layer, stored at SCheck.
  layer_cfg_t ncfg, cur;
  assign cur = cfg_o[li];
  always_comb begin
    ncfg.kind       = d_kind[2:0];
    ncfg.in_c       = d_inc[DimW-1:0];
    ncfg.in_h       = d_inh[DimW-1:0];
    ncfg.in_w       = d_inw[DimW-1:0];
    ncfg.out_c      = d_outc[DimW-1:0];
    ncfg.out_h      = d_outh[DimW-1:0];
    ncfg.out_w      = d_outw[DimW-1:0];
    ncfg.hw_in      = AddrW'(hw_in_q);
    ncfg.hw_out     = AddrW'(hw_out_q);
    ncfg.grp        = grp;
    ncfg.last_lanes = last_lanes;
    ncfg.wpr        = wpr;
    ncfg.wps        = AddrW'(wps_q);
    ncfg.w_base     = AddrW'(w_sum_q);
    ncfg.g9         = AddrW'({grp, 3'b000}) + AddrW'(grp);
    ncfg.th_base    = AddrW'(th_sum_q);
    ncfg.b_base     = AddrW'(b_sum_q);
    ncfg.map_buf    = layer_q[0];
    ncfg.tr_words   = AddrW'((n_out_q + 64'd31) >> 5);
    ncfg.tr_off     = AddrW'(tr_sum_q);
    ncfg.src_gbase  = 9'(32'(last_lif_q) * h_t);
  end

  // ---- section streaming ---------------------------------------------------------------
  logic [63:0]   beat_q;
  logic          beat_have_q;
  logic [5:0]    ei_q;             // element index inside the beat
  logic [31:0]   elems_q;          // elements of the section still to consume
  logic [5:0]    per_beat;         // elements per beat - 1
  logic          elem_take;        // an element is consumed this cycle
  logic          beat_end;         // ... and it is the beat's last
  logic [GA-1:0] sec_off;
  logic [31:0]   sec_elems;
  logic [23:0]   sec_beats;
  logic          w_fast;           // weights: a whole beat is consumed at once

  always_comb begin
    unique case (sec_q)
      SecW:    begin per_beat = 6'd7;  sec_off = GA'(desc_q[8]);  sec_elems = sat32(wbytes_q); end
      SecB:    begin per_beat = 6'd1;  sec_off = GA'(desc_q[10]); sec_elems = d_outc;          end
      SecTh:   begin per_beat = 6'd1;  sec_off = GA'(desc_q[12]); sec_elems = sat32(n_out_q);  end
      default: begin per_beat = 6'd63; sec_off = GA'(desc_q[14]); sec_elems = sat32(n_out_q);  end
    endcase
    unique case (sec_q)
      SecW:    sec_beats = 24'((sec_elems + 32'd7) >> 3);
      SecB:    sec_beats = 24'((sec_elems + 32'd1) >> 1);
      SecTh:   sec_beats = 24'((sec_elems + 32'd1) >> 1);
      default: sec_beats = 24'((sec_elems + 32'd63) >> 6);
    endcase
  end

  assign elem_take = (state_q == SSecDat) && beat_have_q && (elems_q != '0);
  assign beat_end  = elem_take && ((ei_q == per_beat) || (elems_q == 32'd1) || w_fast);

  // Weights, fast path: a whole beat holds 8 bytes of one row that fill 8
  // lanes of one weight word (rows of a multiple of 8 bytes start on a beat,
  // the section being 64-byte aligned), so it is consumed in one cycle.
  assign w_fast = (LANES >= 8) && (sec_q == SecW) && (ei_q == '0) && (elems_q >= 32'd8) &&
                  (col_q[2:0] == 3'd0) && (32'(col_q) + 32'd8 <= d_outc);

  // Scatter counters.
  logic [DimW-1:0]  col_q;         // weights: output channel of the byte / bias: channel
  logic [LW-1:0]    lane_q;        // lane of the element
  logic [AddrW-1:0] grp_i_q;       // weights: group of the byte
  logic [AddrW-1:0] row_addr_q;    // weights: address of the row's group 0
  logic [AddrW-1:0] p_q;           // thresholds: pixel
  logic [AddrW-1:0] gbase_q;       // thresholds: group base (group * HW)
  logic [7:0]       wreg_q [LANES];

  logic [7:0]  e_byte;
  logic [31:0] e_word;
  logic        e_bit;
  assign e_byte = beat_q[{ei_q[2:0], 3'b000} +: 8];
  assign e_word = beat_q[{ei_q[0], 5'b00000} +: 32];
  assign e_bit  = beat_q[ei_q];

  function automatic logic [LW-1:0] next_lane(input logic [LW-1:0] l);
    next_lane = (LANES == 1) ? '0 : LW'(l + 1'b1);
  endfunction

  logic lane_wrap;               // the element is in the last lane
  assign lane_wrap = (32'(lane_q) == LANES - 1);

  // ---- FSM -------------------------------------------------------------------------------
  logic hdr_ok;
  assign hdr_ok = (hdr_q[0] == ImageMagic) && (hdr_q[1][15:0] == VersionMajor) &&
                  (h_nl >= 32'd1) && (h_nl <= 32'(MAX_LAYERS)) &&
                  (h_t >= 32'd1) && (h_t <= 32'(MAX_T)) &&
                  (h_nc >= 32'd2) && (h_nc <= 32'(MAX_CLASSES));

  always_comb begin
    state_d = state_q;
    unique case (state_q)
      SIdle:    if (start_i) state_d = SHdrCmd;
      SHdrCmd:  if (cmd_ready_i) state_d = SHdrDat;
      SHdrDat:  if (dat_valid_i && beat_idx_q == 4'd7) state_d = SHdrChk;
      SHdrChk:  state_d = hdr_ok ? SDescCmd : SDone;
      SDescCmd: if (cmd_ready_i) state_d = SDescDat;
      SDescDat: if (dat_valid_i && beat_idx_q == 4'd9) state_d = SCfg;
      SCfg:     if (phase_q == 2'd2 && step_q == StepLast - 1) state_d = SCheck;
      SCheck:   state_d = (prev_ok && shape_ok && fit_ok) ? (is_pool ? SNextSec : SSecCmd) : SDone;
      SSecCmd:  if (cmd_ready_i) state_d = SSecDat;
      SSecDat:  if (elems_q == '0 || (elem_take && (elems_q == 32'd1 || (w_fast && elems_q == 32'd8))))
                  state_d = SNextSec;
      SNextSec: begin
        if (!is_pool && (sec_q == SecW || (sec_q == SecB && is_lif) || sec_q == SecTh))
          state_d = SSecCmd;
        else if (is_last) state_d = SFinal;
        else state_d = SDescCmd;
      end
      SFinal:   if (phase_q == 2'd2) state_d = SDone;
      SDone:    state_d = SIdle;
      default:  state_d = SIdle;
    endcase
  end

  assign cmd_valid_o = (state_q == SHdrCmd) || (state_q == SDescCmd) || (state_q == SSecCmd);
  always_comb begin
    cmd_addr_o  = model_i;
    cmd_beats_o = 24'd8;
    unique case (state_q)
      SDescCmd: begin cmd_addr_o = model_i + GA'(64) + GA'(32'd80 * 32'(layer_q)); cmd_beats_o = 24'd10; end
      SSecCmd:  begin cmd_addr_o = model_i + sec_off;                      cmd_beats_o = sec_beats; end
      default: ;
    endcase
  end

  assign dat_ready_o = (state_q == SHdrDat) || (state_q == SDescDat) ||
                       ((state_q == SSecDat) && (!beat_have_q || beat_end));

  assign done_o   = (state_q == SDone);
  assign status_o = status_q;

  // ---- memory write ports ----------------------------------------------------------------
  always_comb begin
    w_we_o   = 1'b0;
    w_addr_o = WAW'(row_addr_q + grp_i_q);
    for (int j = 0; j < LANES; j++)
      w_data_o[j*8 +: 8] = (w_fast && j >= 32'(lane_q) && j < 32'(lane_q) + 8) ? beat_q[(j - 32'(lane_q)) * 8 +: 8]
                         : (!w_fast && 32'(lane_q) == j) ? e_byte : wreg_q[j];
    b_we_o    = '0;
    b_addr_o  = BAW'(cur.b_base + (AddrW'(col_q) >> LS));
    b_data_o  = e_word;
    th_we_o   = '0;
    pol_we_o  = '0;
    th_addr_o = TAW'(cur.th_base + gbase_q + p_q);
    th_data_o = e_word;
    if (elem_take) begin
      unique case (sec_q)
        SecW:    w_we_o = w_fast ? (32'(lane_q) + 32'd8 == LANES || 32'(col_q) + 32'd8 == d_outc)
                                 : (lane_wrap || (col_q == d_outc[DimW-1:0] - 1'b1));
        SecB:    b_we_o[lane_q] = 1'b1;
        SecTh:   th_we_o[lane_q] = 1'b1;
        default: pol_we_o[lane_q] = 1'b1;
      endcase
    end
  end
  assign pol_data_o = e_bit;

  // Only the output shape of the previous layer is compared.
  logic unused_prev;
  assign unused_prev = ^{prev.kind, prev.in_c, prev.in_h, prev.in_w, prev.hw_in, prev.hw_out,
                         prev.grp, prev.last_lanes, prev.wpr, prev.wps, prev.w_base, prev.g9,
                         prev.th_base, prev.b_base, prev.map_buf, prev.tr_words, prev.tr_off,
                         prev.src_gbase};

  // ---- registers --------------------------------------------------------------------------
  always_ff @(posedge clk_i) begin
    if (!rst_ni) state_q <= SIdle;
    else         state_q <= state_d;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      beat_idx_q  <= '0;
      layer_q     <= '0;
      step_q      <= '0;
      phase_q     <= '0;
      sec_q       <= SecW;
      status_q    <= StatusOk;
      beat_have_q <= 1'b0;
      ei_q        <= '0;
      elems_q     <= '0;
    end else begin
      unique case (state_q)
        SIdle: begin
          beat_idx_q <= '0;
          layer_q    <= '0;
          status_q   <= StatusOk;
          th_sum_q   <= '0;
          w_sum_q    <= '0;
          b_sum_q    <= '0;
          tr_sum_q   <= '0;
          lif_cnt_q  <= '0;
          last_lif_q <= '0;
        end
        SHdrDat: if (dat_valid_i) begin
          hdr_q[{beat_idx_q[2:0], 1'b0}] <= dat_data_i[31:0];
          hdr_q[{beat_idx_q[2:0], 1'b1}] <= dat_data_i[63:32];
          beat_idx_q <= (beat_idx_q == 4'd7) ? 4'd0 : beat_idx_q + 1'b1;
        end
        SHdrChk: begin
          if (!hdr_ok) status_q <= StatusBad;
          n_layers_o  <= 5'(h_nl);
          t_o         <= 5'(h_t);
          n_classes_o <= 7'(h_nc);
          rec_words_o <= AddrW'((h_nc + 32'd1 + 2 * h_nl + 32'd15) & ~32'd15);
        end
        SDescDat: if (dat_valid_i) begin
          desc_q[2 * beat_idx_q]      <= dat_data_i[31:0];
          desc_q[2 * beat_idx_q + 1]  <= dat_data_i[63:32];
          beat_idx_q <= (beat_idx_q == 4'd9) ? 4'd0 : beat_idx_q + 1'b1;
          step_q     <= '0;
          phase_q    <= '0;
        end
        SCfg: begin
          phase_q <= (phase_q == 2'd2) ? 2'd0 : phase_q + 1'b1;
          if (phase_q == 2'd2) begin
            step_q <= step_q + 1'b1;
            unique case (step_q)
              4'd0: hw_out_q <= mul_p;
              4'd1: hw_in_q  <= mul_p;
              4'd2: n_out_q  <= mul_p;
              4'd3: nacc_q   <= mul_p;
              4'd4: rows_q   <= mul_p;
              4'd5: wrows_q  <= mul_p;
              4'd6: wbytes_q <= mul_p;
              4'd7: gh_q     <= mul_p;
              4'd8: wps_q    <= mul_p;
              4'd9: twps_q   <= mul_p;
              4'd10: n_in_q  <= mul_p;
              default: ;
            endcase
          end
        end
        SCheck: begin
          if (!(prev_ok && shape_ok && fit_ok)) status_q <= StatusNoFit;
          if (layer_q == 5'd0) n_pix_o <= AddrW'(n_in_q);
          cfg_o[li] <= ncfg;
          if (!is_pool) begin
            w_sum_q <= w_sum_q + 40'(wrows_q);
            b_sum_q <= b_sum_q + 40'(grp);
          end
          if (is_lif) begin
            th_sum_q   <= th_sum_q + 40'(nacc_q);
            last_lif_q <= lif_cnt_q;
            lif_cnt_q  <= lif_cnt_q + 1'b1;
          end
          if (!is_last) tr_sum_q <= tr_sum_q + 40'((n_out_q + 64'd31) >> 5);
          sec_q <= SecW;
        end
        SSecCmd: if (cmd_ready_i) begin
          elems_q     <= sec_elems;
          beat_have_q <= 1'b0;
          ei_q        <= '0;
          col_q       <= '0;
          lane_q      <= '0;
          grp_i_q     <= '0;
          row_addr_q  <= cur.w_base;
          p_q         <= '0;
          gbase_q     <= '0;
          for (int j = 0; j < LANES; j++) wreg_q[j] <= 8'd0;
        end
        SSecDat: begin
          if (dat_valid_i && dat_ready_o) begin
            beat_q      <= dat_data_i;
            beat_have_q <= 1'b1;
            ei_q        <= '0;
          end else if (beat_end) begin
            beat_have_q <= 1'b0;
          end
          if (elem_take) begin
            elems_q <= elems_q - (w_fast ? 32'd8 : 32'd1);
            if (!beat_end) ei_q <= ei_q + 1'b1;
            unique case (sec_q)
              SecW: if (w_fast) begin
                for (int j = 0; j < LANES; j++)
                  if (j >= 32'(lane_q) && j < 32'(lane_q) + 8) wreg_q[j] <= beat_q[(j - 32'(lane_q)) * 8 +: 8];
                if (32'(col_q) + 32'd8 == d_outc) begin
                  col_q      <= '0;
                  lane_q     <= '0;
                  grp_i_q    <= '0;
                  row_addr_q <= row_addr_q + AddrW'(grp);
                  for (int j = 0; j < LANES; j++) wreg_q[j] <= 8'd0;
                end else begin
                  col_q  <= col_q + DimW'(8);
                  lane_q <= LW'(32'(lane_q) + 32'd8);
                  if (32'(lane_q) + 32'd8 == LANES) begin
                    grp_i_q <= grp_i_q + 1'b1;
                    for (int j = 0; j < LANES; j++) wreg_q[j] <= 8'd0;
                  end
                end
              end else begin
                // byte `col` of a fan-out row: lane col%L, group col/L
                wreg_q[lane_q] <= e_byte;
                if (col_q == d_outc[DimW-1:0] - 1'b1) begin
                  col_q      <= '0;
                  lane_q     <= '0;
                  grp_i_q    <= '0;
                  row_addr_q <= row_addr_q + AddrW'(grp);
                  for (int j = 0; j < LANES; j++) wreg_q[j] <= 8'd0;
                end else begin
                  col_q  <= col_q + 1'b1;
                  lane_q <= next_lane(lane_q);
                  if (lane_wrap) begin
                    grp_i_q <= grp_i_q + 1'b1;
                    for (int j = 0; j < LANES; j++) wreg_q[j] <= 8'd0;
                  end
                end
              end
              SecB: begin
                col_q  <= col_q + 1'b1;
                lane_q <= next_lane(lane_q);
              end
              default: begin
                // neuron (c, p): lane c%L, address group(c)*HW + p
                if (p_q == AddrW'(hw_out_q) - 1'b1) begin
                  p_q    <= '0;
                  lane_q <= next_lane(lane_q);
                  if (lane_wrap) gbase_q <= gbase_q + AddrW'(hw_out_q);
                end else begin
                  p_q <= p_q + 1'b1;
                end
              end
            endcase
          end
        end
        SNextSec: begin
          unique case (sec_q)
            SecW:    sec_q <= SecB;
            SecB:    sec_q <= SecTh;
            SecTh:   sec_q <= SecPol;
            default: sec_q <= SecW;
          endcase
          if (state_d != SSecCmd) layer_q <= layer_q + 1'b1;
          step_q  <= '0;
          phase_q <= '0;
        end
        SFinal: begin
          // image-wide figures (the multiplier is not needed here)
          phase_q <= phase_q + 1'b1;
          trace_step_o  <= AddrW'(tr_sum_q);
          trace_words_o <= AddrW'(tr_sum_q[AddrW-1:0] * AddrW'(t_o) + AddrW'(n_classes_o));
          gpi_o         <= 9'((9'(lif_cnt_q) + 9'd1) * 9'(t_o) + 9'd1);
        end
        default: ;
      endcase
    end
  end


endmodule
