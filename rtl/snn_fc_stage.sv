// snn_fc_stage - a fully connected layer of the layer pipeline
// (docs/rtl-pipeline.md): FC (then LIF) or OUT (sums over T, arg-max).
//
// The input map holds one word per input pixel: in_c T-bit vectors (bit
// c*TM + t). The scanner reads the words in order and issues one firing
// input per cycle, i = c*in_hw + p (CHW order, the weight row of the deploy
// image), with its T-bit vector; a word without a firing input takes one
// cycle. The weight row (out_c int8) is read from G RAM slices of FCH
// channels and added into acc[o][t] for every set step t, all outputs at once.
// After the last input: FC runs the LIF unit on the one output "pixel" and
// writes its T-bit vectors to the next map at (0, 0); OUT forms
// s[k] = sum_t acc[k][t] + T * b[k] and the arg-max (lowest index on ties).
`default_nettype none

module snn_fc_stage #(
  parameter int unsigned CIN    = 64,     // channels of an input word (maximum)
  parameter int unsigned IN_HW  = 64,     // input pixels (maximum)
  parameter int unsigned COUT   = 128,    // outputs (maximum)
  parameter int unsigned FCH    = 128,    // outputs per weight RAM slice
  parameter int unsigned TM     = 4,
  parameter int unsigned ACC_W  = 24,
  parameter int unsigned OUT    = 0,      // 1: output layer (no LIF)
  // derived
  parameter int unsigned IN_W   = CIN * TM,
  parameter int unsigned NIN    = CIN * IN_HW,
  parameter int unsigned IW     = $clog2(NIN),
  parameter int unsigned PW     = $clog2(IN_HW + 1),
  parameter int unsigned G      = (COUT + FCH - 1) / FCH
) (
  input  wire                   clk_i,
  input  wire                   rst_ni,
  // ---- configuration ----
  input  wire [PW-1:0]          in_hw_i,      // input pixels (in_h * in_w)
  input  wire [$clog2(COUT+1)-1:0] cout_i,
  input  wire [4:0]             t_steps_i,
  // ---- model load ----
  input  wire                   wl_en_i,      // weight row i, all outputs
  input  wire [IW-1:0]          wl_row_i,
  input  wire [COUT*8-1:0]      wl_data_i,
  input  wire                   tl_en_i,      // threshold + polarity of output o (FC)
  input  wire [$clog2(COUT)-1:0] tl_ch_i,
  input  wire [31:0]            tl_th_i,
  input  wire                   tl_pol_i,
  input  wire                   bl_en_i,
  input  wire [$clog2(COUT)-1:0] bl_ch_i,
  input  wire [31:0]            bl_data_i,
  // ---- per image ----
  input  wire                   start_i,
  output logic                  busy_o,
  output logic                  done_o,
  output logic [31:0]           events_o,
  output logic [31:0]           synops_o,
  output logic [31:0]           spikes_o,
  // ---- input map (flat) ----
  output logic                  rd_valid_o,
  output logic [PW-1:0]         rd_pix_o,
  input  wire [IN_W-1:0]        rd_word_i,    // one cycle after rd_valid_o
  // ---- FC: output map word ----
  output logic                  wr_valid_o,
  output logic [COUT*TM-1:0]    wr_data_o,
  // ---- OUT: sums and prediction (valid with done_o) ----
  output logic [COUT*32-1:0]    sums_o,
  output logic [31:0]           pred_o
);

  localparam int unsigned CW = (CIN > 1) ? $clog2(CIN) : 1;

  // ---- scanner: word buffer, one firing input per cycle ----------------------
  typedef enum logic [2:0] {S_IDLE, S_SCAN, S_DRAIN, S_LIF, S_SUM, S_ARGMAX, S_DONE} state_t;
  state_t st_q;

  logic [PW-1:0]   rp_q;          // next pixel to read
  logic            inflight_q;
  logic [PW-1:0]   inflight_pix_q;
  logic            wbuf_full_q;
  logic [IN_W-1:0] wbuf_q;        // remaining vectors of the current word
  logic [PW-1:0]   wbuf_pix_q;

  // nonzero channels of the buffered word
  logic [CIN-1:0] nz;
  always_comb
    for (int c = 0; c < CIN; c++) nz[c] = |wbuf_q[c*TM +: TM];
  // the first of them: index, one-hot, and its T-bit vector (AND-OR)
  logic          nz_any;
  logic [CW-1:0] nz_first;
  logic [CIN-1:0] nz_oh;
  logic [TM-1:0] nz_vec;
  always_comb begin
    logic seen;
    seen     = 1'b0;
    nz_first = '0;
    nz_vec   = '0;
    for (int c = 0; c < int'(CIN); c++) begin
      nz_oh[c] = nz[c] && !seen;
      seen     = seen || nz[c];
      nz_first = nz_first | ({CW{nz_oh[c]}} & CW'(c));
      nz_vec   = nz_vec | ({TM{nz_oh[c]}} & wbuf_q[c*TM +: TM]);
    end
    nz_any = seen;
  end

  // The word leaves the buffer in the cycle its last firing input issues (or
  // at once when it has none). The next word is read only then, so a word
  // costs max(1, firing inputs) + 1 cycles.
  wire last_of_word = wbuf_full_q && (!nz_any || (nz & (nz - 1'b1)) == '0);
  wire read_now = (st_q == S_SCAN) && rp_q < in_hw_i && !inflight_q &&
                  (!wbuf_full_q || last_of_word);
  assign rd_valid_o = read_now;
  assign rd_pix_o   = rp_q;

  wire issue = wbuf_full_q && nz_any;
  logic [IW-1:0] issue_row;
  assign issue_row = IW'(nz_first) * IW'(in_hw_i) + IW'(wbuf_pix_q);

  // ---- weights and accumulators -------------------------------------------------
  logic              add_q;        // the row read last cycle is added now
  logic [TM-1:0]     add_vec_q;
  logic [COUT*8-1:0] wrow;
  for (genvar g = 0; g < G; g++) begin : g_wram
    localparam int unsigned NCH = (g == G - 1) ? COUT - g * FCH : FCH;
    snn_ram #(.WIDTH(NCH * 8), .DEPTH(NIN)) u_w (
      .clk_i,
      .we_i(wl_en_i),
      .waddr_i(wl_row_i),
      .wdata_i(wl_data_i[g*FCH*8 +: NCH*8]),
      .re_i(issue),
      .raddr_i(issue_row),
      .rdata_o(wrow[g*FCH*8 +: NCH*8])
    );
  end

  logic signed [ACC_W-1:0] acc_q [COUT][TM], acc_d [COUT][TM];
  logic [31:0] n_inputs_q, n_setbits_q;

  // biases, thresholds, polarity in registers (one output pixel)
  logic [31:0] bias_q [COUT];
  logic [31:0] th_q   [COUT];
  logic [COUT-1:0] pol_q;
  always_ff @(posedge clk_i) begin
    if (bl_en_i) bias_q[bl_ch_i] <= bl_data_i;
    if (tl_en_i) begin
      th_q[tl_ch_i]  <= tl_th_i;
      pol_q[tl_ch_i] <= tl_pol_i;
    end
  end

  // ---- LIF (FC) and sums (OUT) --------------------------------------------------
  logic [4:0]  t_q;                     // step of the sequential LIF / sum pass
  logic signed [31:0] u_q [COUT], u_d [COUT];      // membranes during the LIF pass
  logic [COUT*TM-1:0] spk_q, spk_d;
  logic signed [31:0] sum_q [COUT], sum_d [COUT];
  logic [$clog2(COUT+1)-1:0] k_q;       // arg-max scan: candidate k
  logic [COUT-1:0] kh_q;                // the same, one-hot
  logic [31:0] best_q;                  // index of the largest sum so far
  logic signed [31:0] best_v_q;         // its sum
  logic signed [31:0] cand_v;           // sum_q[k_q], an AND-OR over kh_q
  always_comb begin
    cand_v = '0;
    for (int o = 0; o < COUT; o++) cand_v = cand_v | ({32{kh_q[o]}} & sum_q[o]);
  end

  // ---- datapath: accumulators, membranes, spikes, sums (next state) ----------
  // Steps are selected by comparing each t with t_q (a variable index into
  // the spike vector would be a shifter over all COUT x TM bits per output);
  // the LIF part exists only in the FC form, the sums only in the OUT form.
  always_comb begin
    logic signed [31:0]      v;
    logic signed [ACC_W-1:0] a;
    logic                    fire;
    v     = '0;
    a     = '0;
    fire  = 1'b0;
    acc_d = acc_q;
    u_d   = u_q;
    sum_d = sum_q;
    spk_d = spk_q;
    if (st_q == S_IDLE && start_i) begin
      for (int o = 0; o < COUT; o++)
        for (int t = 0; t < TM; t++) acc_d[o][t] = '0;
    end else if (add_q) begin
      for (int o = 0; o < COUT; o++)
        for (int t = 0; t < TM; t++)
          if (add_vec_q[t]) acc_d[o][t] = acc_q[o][t] + ACC_W'(signed'(wrow[o*8 +: 8]));
    end
    if (st_q == S_DRAIN) begin
      for (int o = 0; o < COUT; o++) begin
        u_d[o]   = '0;
        sum_d[o] = '0;
      end
      spk_d = '0;
    end
    if (OUT == 0 && st_q == S_LIF)
      for (int o = 0; o < COUT; o++) begin
        a = '0;
        for (int t = 0; t < TM; t++) if (t_q == 5'(t)) a = acc_q[o][t];
        v = (u_q[o] >>> 2) + 32'(a) + signed'(bias_q[o]);
        fire = (o < int'(cout_i)) && (pol_q[o] ? (v < signed'(th_q[o])) : (v > signed'(th_q[o])));
        u_d[o] = fire ? 32'sd0 : v;
        for (int t = 0; t < TM; t++) if (t_q == 5'(t)) spk_d[o*TM + t] = fire;
      end
    if (OUT != 0 && st_q == S_SUM)
      for (int o = 0; o < COUT; o++) begin
        a = '0;
        for (int t = 0; t < TM; t++) if (t_q == 5'(t)) a = acc_q[o][t];
        sum_d[o] = sum_q[o] + 32'(a) + signed'(bias_q[o]);
      end
  end

  always_ff @(posedge clk_i) begin
    acc_q <= acc_d;
    u_q   <= u_d;
    sum_q <= sum_d;
    spk_q <= spk_d;
  end

  assign busy_o = st_q != S_IDLE;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      st_q        <= S_IDLE;
      inflight_q  <= 1'b0;
      wbuf_full_q <= 1'b0;
      add_q       <= 1'b0;
      done_o      <= 1'b0;
      wr_valid_o  <= 1'b0;
    end else begin
      done_o     <= 1'b0;
      wr_valid_o <= 1'b0;
      // the add of the row read last cycle
      add_q     <= issue;
      add_vec_q <= nz_vec;

      case (st_q)
        S_IDLE: if (start_i) begin
          st_q <= S_SCAN;
          rp_q <= '0;
          n_inputs_q  <= '0;
          n_setbits_q <= '0;
        end
        S_SCAN: begin
          if (rd_valid_o) begin
            rp_q <= rp_q + 1'b1;
          end
          inflight_q     <= rd_valid_o;
          inflight_pix_q <= rp_q;
          if (issue) begin
            n_inputs_q  <= n_inputs_q + 1'b1;
            n_setbits_q <= n_setbits_q + 32'($countones(nz_vec));
            for (int c = 0; c < int'(CIN); c++)
              if (nz_oh[c]) wbuf_q[c*TM +: TM] <= '0;
          end
          if (last_of_word) wbuf_full_q <= 1'b0;
          if (inflight_q) begin
            wbuf_q      <= rd_word_i;
            wbuf_pix_q  <= inflight_pix_q;
            wbuf_full_q <= 1'b1;
          end
          if (rp_q == in_hw_i && !inflight_q && (!wbuf_full_q || last_of_word))
            st_q <= S_DRAIN;
        end
        S_DRAIN: begin  // the last add lands this cycle
          st_q <= (OUT != 0) ? S_SUM : S_LIF;
          t_q  <= '0;
        end
        S_LIF: begin   // one step per cycle, all outputs
          if (t_q + 1'b1 == t_steps_i) st_q <= S_DONE;
          t_q <= t_q + 1'b1;
        end
        S_SUM: begin   // s += acc[t] + b, one step per cycle
          if (t_q + 1'b1 == t_steps_i) begin
            st_q     <= S_ARGMAX;
            k_q      <= 1;
            kh_q     <= COUT'(2);
            best_q   <= '0;
            best_v_q <= sum_d[0];
          end
          t_q <= t_q + 1'b1;
        end
        S_ARGMAX: begin
          if (k_q >= cout_i) st_q <= S_DONE;
          else begin
            if (cand_v > best_v_q) begin
              best_q   <= 32'(k_q);
              best_v_q <= cand_v;
            end
            k_q  <= k_q + 1'b1;
            kh_q <= kh_q << 1;
          end
        end
        S_DONE: begin
          st_q       <= S_IDLE;
          done_o     <= 1'b1;
          wr_valid_o <= (OUT == 0);
        end
        default: st_q <= S_IDLE;
      endcase
    end
  end

  // spike count of the LIF pass (popcount of the output word)
  // (an adder loop rather than 32'($countones(..)): Verilator 5.006 gives the
  // cast result the popcount's own width when the port feeds a concatenation)
  always_comb begin
    spikes_o = '0;
    if (OUT == 0)
      for (int i = 0; i < int'(COUT * TM); i++) spikes_o = spikes_o + {31'd0, spk_q[i]};
  end
  assign wr_data_o = spk_q;
  assign events_o  = n_inputs_q * 32'(cout_i);
  assign synops_o  = n_setbits_q * 32'(cout_i);
  always_comb begin
    for (int o = 0; o < COUT; o++) sums_o[o*32 +: 32] = sum_q[o];
    pred_o = best_q;
  end

endmodule
