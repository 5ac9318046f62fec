// tb_fc_stage - self-checking testbench of snn_fc_stage (FC and OUT forms):
// random input maps (empty, sparse, dense, all-ones vectors), random int8
// weights including -127/127, random biases, thresholds (with the constant
// INT32_MIN / INT32_MAX neurons and negative polarity), T = 1..TM and
// out_c < COUT; the output spikes, sums, arg-max and counters are compared
// with docs/numerics.md computed here, image by image.
`timescale 1ns/1ps
`default_nettype none

module tb_fc_stage;
  localparam int unsigned CIN = 5, IN_HW = 6, COUT = 7, FCH = 4, TM = 4, ACC_W = 24;
  localparam int unsigned NIN = CIN * IN_HW;

  logic clk = 0, rst_n = 0;
  always #1 clk = ~clk;

  // one instance of each form
  logic [$clog2(IN_HW+1)-1:0] in_hw;
  logic [$clog2(COUT+1)-1:0]  cout;
  logic [4:0]                 tsteps;
  logic                       wl_en, tl_en, bl_en, start;
  logic [$clog2(NIN)-1:0]     wl_row;
  logic [COUT*8-1:0]          wl_data;
  logic [$clog2(COUT)-1:0]    tl_ch, bl_ch;
  logic [31:0]                tl_th, bl_data;
  logic                       tl_pol;
  logic                       busy[2], done[2], rd_valid[2], wr_valid[2];
  logic [31:0]                events[2], synops[2], spikes[2], pred[2];
  logic [$clog2(IN_HW+1)-1:0] rd_pix[2];
  logic [CIN*TM-1:0]          rd_word[2];
  logic [COUT*TM-1:0]         wr_data[2];
  logic [COUT*32-1:0]         sums[2];

  // the input map (flat), shared by both instances
  logic [CIN*TM-1:0] map [IN_HW];

  for (genvar k = 0; k < 2; k++) begin : g_dut
    snn_fc_stage #(.CIN(CIN), .IN_HW(IN_HW), .COUT(COUT), .FCH(FCH), .TM(TM), .ACC_W(ACC_W),
                   .OUT(k)) dut (
      .clk_i(clk), .rst_ni(rst_n),
      .in_hw_i(in_hw), .cout_i(cout), .t_steps_i(tsteps),
      .wl_en_i(wl_en), .wl_row_i(wl_row), .wl_data_i(wl_data),
      .tl_en_i(tl_en), .tl_ch_i(tl_ch), .tl_th_i(tl_th), .tl_pol_i(tl_pol),
      .bl_en_i(bl_en), .bl_ch_i(bl_ch), .bl_data_i(bl_data),
      .start_i(start), .busy_o(busy[k]), .done_o(done[k]),
      .events_o(events[k]), .synops_o(synops[k]), .spikes_o(spikes[k]),
      .rd_valid_o(rd_valid[k]), .rd_pix_o(rd_pix[k]), .rd_word_i(rd_word[k]),
      .wr_valid_o(wr_valid[k]), .wr_data_o(wr_data[k]),
      .sums_o(sums[k]), .pred_o(pred[k])
    );
    always_ff @(posedge clk) if (rd_valid[k]) rd_word[k] <= map[rd_pix[k]];
  end

  // reference copies of the model
  int w   [NIN][COUT];
  int b   [COUT];
  int th  [COUT];
  bit pol [COUT];
  int errors = 0, images = 0;

  task automatic load_model(int style);
    for (int i = 0; i < NIN; i++) begin
      for (int o = 0; o < COUT; o++) begin
        int v;
        v = style == 1 ? ((($urandom % 2) != 0) ? 127 : -127) : int'($urandom % 255) - 127;
        w[i][o] = v;
        wl_data[o*8 +: 8] = 8'(v);
      end
      @(negedge clk);
      wl_en = 1; wl_row = $clog2(NIN)'(i);
      @(negedge clk);
      wl_en = 0;
    end
    for (int o = 0; o < COUT; o++) begin
      int r;
      b[o] = int'($urandom % 2001) - 1000;
      r = int'($urandom % 10);
      th[o] = r == 0 ? 32'h7fffffff : r == 1 ? 32'h80000000 : int'($urandom % 1001) - 300;
      pol[o] = ($urandom % 5) == 0;
      @(negedge clk);
      bl_en = 1; bl_ch = $clog2(COUT)'(o); bl_data = b[o];
      tl_en = 1; tl_ch = $clog2(COUT)'(o); tl_th = th[o]; tl_pol = pol[o];
      @(negedge clk);
      bl_en = 0; tl_en = 0;
    end
  endtask

  task automatic run_image(int density);
    int acc [COUT][TM];
    int u, v, s [COUT], exp_pred, n_in, n_set, n_spk;
    bit fire;
    logic [COUT*TM-1:0] exp_spk;
    int unsigned nhw, nc, T;
    nhw = 1 + $urandom % IN_HW;
    nc  = 1 + $urandom % COUT;
    T   = 1 + $urandom % TM;
    for (int p = 0; p < IN_HW; p++)
      for (int c = 0; c < CIN; c++) begin
        logic [TM-1:0] vec;
        vec = ($urandom % 100) < density ? TM'($urandom) : '0;
        if (($urandom % 4) == 0 && vec != 0) vec = '1;
        for (int t = 0; t < TM; t++) if (t >= int'(T)) vec[t] = 1'b0;
        map[p][c*TM +: TM] = vec;
      end
    // reference
    n_in = 0; n_set = 0; n_spk = 0;
    foreach (acc[o, t]) acc[o][t] = 0;
    for (int c = 0; c < CIN; c++)
      for (int p = 0; p < int'(nhw); p++) begin
        logic [TM-1:0] vec;
        vec = map[p][c*TM +: TM];
        if (vec == 0) continue;
        n_in++;
        n_set += $countones(vec);
        for (int o = 0; o < COUT; o++)
          for (int t = 0; t < TM; t++) if (vec[t]) acc[o][t] += w[c * int'(nhw) + p][o];
      end
    exp_spk = '0;
    for (int o = 0; o < int'(nc); o++) begin
      u = 0;
      s[o] = 0;
      for (int t = 0; t < int'(T); t++) begin
        v = (u >>> 2) + acc[o][t] + b[o];
        fire = pol[o] ? (v < th[o]) : (v > th[o]);
        u = fire ? 0 : v;
        exp_spk[o*TM + t] = fire;
        n_spk += int'(fire);
        s[o] += acc[o][t] + b[o];
      end
    end
    exp_pred = 0;
    for (int o = 1; o < int'(nc); o++) if (s[o] > s[exp_pred]) exp_pred = o;
    // run both forms
    @(negedge clk);
    in_hw = $clog2(IN_HW+1)'(nhw); cout = $clog2(COUT+1)'(nc); tsteps = 5'(T);
    start = 1;
    @(negedge clk);
    start = 0;
    for (int k = 0; k < 2; k++) begin
      int guard = 0;
      while (!done[k]) begin
        @(posedge clk);
        guard = guard + 1;
        if (guard > 10 * (NIN + 100)) $fatal(1, "tb_fc_stage: form %0d hangs", k);
      end
      @(negedge clk);
      if (events[k] != 32'(n_in * int'(nc)) || synops[k] != 32'(n_set * int'(nc))) begin
        $display("FAIL form %0d counters: events %0d/%0d synops %0d/%0d", k, events[k],
                 n_in * int'(nc), synops[k], n_set * int'(nc));
        errors++;
      end
    end
    if (wr_data[0] != exp_spk || spikes[0] != 32'(n_spk)) begin
      $display("FAIL fc spikes %h expected %h (count %0d/%0d)", wr_data[0], exp_spk, spikes[0], n_spk);
      errors++;
    end
    for (int o = 0; o < int'(nc); o++)
      if (sums[1][o*32 +: 32] != 32'(s[o])) begin
        $display("FAIL out sum %0d: %0d expected %0d", o, $signed(sums[1][o*32 +: 32]), s[o]);
        errors++;
      end
    if (pred[1] != 32'(exp_pred)) begin
      $display("FAIL out pred %0d expected %0d", pred[1], exp_pred);
      errors++;
    end
    images++;
    if (errors > 10) $fatal(1, "tb_fc_stage: too many errors");
  endtask

  initial begin
    wl_en = 0; tl_en = 0; bl_en = 0; start = 0;
    in_hw = IN_HW; cout = COUT; tsteps = TM;
    repeat (4) @(negedge clk);
    rst_n = 1;
    for (int m = 0; m < 6; m++) begin
      load_model(m % 3 == 1 ? 1 : 0);
      for (int i = 0; i < 60; i++) run_image(i % 4 == 0 ? 0 : i % 4 == 1 ? 10 : i % 4 == 2 ? 50 : 100);
    end
    if (errors != 0) $fatal(1, "tb_fc_stage: %0d errors", errors);
    $display("tb_fc_stage: PASS (%0d images, FC and OUT forms)", images);
    $finish;
  end
endmodule
