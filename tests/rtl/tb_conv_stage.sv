// tb_conv_stage - self-checking testbench of snn_conv_stage, one conv layer of
// the layer pipeline (docs/rtl-pipeline.md): patch fetch, dispatch to the
// engines, hand-off to the LIF unit, write of the pooled or unpooled output map.
//
// Each configuration instantiates the stage between its input map (an
// snn_spike_map, BANKED = 1, read port on the stage's rd_* ports) and its
// output map (an snn_spike_map written by the stage's wr_* ports, new-bit
// counts back to the stage), and runs the pipeline the way the top level will:
// image i is processed while image i+1 is written into the other half of the
// input map and the output of image i-1 is read back from the other half of the
// output map; halves alternate and each use of a half flips its 1-bit tag (no
// clearing; both maps INIT = 1 as in the kernel). Checked against docs/numerics.md computed here (conv 3x3 pad 1,
// LIF with leak / strict compare / hard reset, 2x2 floor OR-pool):
//   * every output word of every image, read back through the output map;
//   * the trace tap: every pixel once, its unpooled LIF word;
//   * events_o, synops_o, spikes_o, pool_spikes_o (docs/rtl-pipeline.md,
//     Counters) at done_o;
//   * cycles from the accepted start to done_o, against ideal = max(h*w,
//     work / E) with work = nonzero patch entries + 1 per pixel (the engine
//     time): at most 9/8 ideal + the largest pixel + 2T + 24, and, for images
//     without input events, h*w + 2T + 16 (one patch per cycle); cycles per
//     image at densities 0 .. 100% on the full map are printed.
// Stimulus: models of random int8 weights (-127/127 included, also all +-127
// and small weights for v == th hits), random biases (some near +-2^27),
// thresholds per neuron incl. INT32_MAX / INT32_MIN (constant neurons) and
// negative polarity; per image random T, out_c and in_c, input densities 0% ..
// 100% (random / all-ones / single-step vectors; pixels 0..255 for IMG = 1);
// map sizes: the maximum, odd (7x5, 5x7, 3x3: the pool drops the last
// row / column), 1x1, 1xW, Hx1, random; runs of 1..5 images of one size, with
// starts back to back (start in the done cycle), after random gaps, and
// spurious start pulses while the stage does not take one (ignored); model
// reloads between runs.
// Overlap (OVERLAP = 1): in half of the runs (and the measurement runs) the
// next image starts as soon as the stage takes it (start_ready_o: the image
// before has been read) while its last pixels finish; its input and output
// halves are ready as the top level's handshake would have them (input
// written, output of the image two before read back). The images of such a
// run share T and out_c (static while images are in flight). Reads and writes
// go to the half and tag the stage gives with each (rd_img_o, wr_img_o); the
// trace tap's pixels of the two images in flight are told apart by their
// expected words (a word equal in both may count for either).
// A change of map size between uses of a half can leave a word whose stored tag
// equals the next use's tag (written two or more uses before, outside the last
// use's map): an OR write would merge it, and a plain write would count too
// few new bits. The testbench tracks the stored words and, where that happens,
// zeroes the half through the output map's write port before the run (the
// count is printed as scrubs): the top level must do the same, or clear the
// maps, when a model changes a map's size.
// Exit status: 0 pass, non-zero fail.
`timescale 1ns/1ps
`default_nettype none

module conv_stage_check #(
  parameter int unsigned CIN        = 4,
  parameter int unsigned COUT       = 8,
  parameter int unsigned TM         = 4,
  parameter int unsigned IMG        = 0,
  parameter int unsigned E          = 2,
  parameter int unsigned ACC_W      = 24,
  parameter int unsigned MAX_H      = 12,
  parameter int unsigned MAX_W      = 12,
  parameter int unsigned OUT_BANKED = 1,     // the output map's layout
  parameter int unsigned LIF_SERIAL = 0,     // the stage's LIF unit: 1 step-serial
  parameter int unsigned OVERLAP    = 1,     // the stage's OVERLAP
  parameter int unsigned MODELS     = 3,     // model loads
  parameter int unsigned RUNS       = 8,     // runs (one map size each) per model
  parameter string       NAME       = "cfg"
) (
  input  wire    clk,
  input  wire    rst_n,
  output logic   done,
  output int     n_images,
  output int     n_words,
  output longint n_cycles
);
  localparam int unsigned VW    = (IMG != 0) ? 8 : TM;
  localparam int unsigned IN_W  = CIN * VW;
  localparam int unsigned OUT_W = COUT * TM;
  localparam int unsigned HW    = MAX_H * MAX_W;
  localparam int unsigned PW    = $clog2(HW + 1);
  localparam int unsigned YW    = $clog2(MAX_H + 1);
  localparam int unsigned XW    = $clog2(MAX_W + 1);
  localparam int unsigned NROW  = 9 * CIN;
  localparam int unsigned RW    = $clog2(NROW);
  localparam int unsigned CW    = $clog2(COUT + 1);
  localparam int unsigned CHW   = $clog2(COUT);
  localparam int unsigned ONW   = $clog2(OUT_W + 1);
  localparam int unsigned INB   = $clog2(IN_W + 1);
  localparam int unsigned NSLOT = 4;                 // images in flight (ring)
  localparam int IMax = 32'h7FFF_FFFF;
  localparam int IMin = 32'h8000_0000;

  // ---- configuration and load ports ---------------------------------------
  logic [YW-1:0]    h = '0, out_h = '0;
  logic [XW-1:0]    w = '0, out_w = '0;
  logic [PW-1:0]    hw = '0;
  logic [CW-1:0]    cout = '0;
  logic [4:0]       tsteps = '0;
  logic             pool = 1'b0;
  logic             wl_en = 1'b0, tl_en = 1'b0, bl_en = 1'b0, tl_pol = 1'b0;
  logic [RW-1:0]    wl_row = '0;
  logic [COUT*8-1:0] wl_data = '0;
  logic [CHW-1:0]   tl_ch = '0, bl_ch = '0;
  logic [PW-1:0]    tl_pix = '0;
  logic [31:0]      tl_th = '0, bl_data = '0;
  logic             start = 1'b0;
  logic [1:0]       st_in_img = '0, st_out_img = '0;
  logic             busy, sdone, start_ready;
  logic [31:0]      ev, syn, spk, pspk;

  // ---- stage <-> input map ----
  logic             s_rd_valid;
  logic [YW-1:0]    s_rd_y;
  logic [XW-1:0]    s_rd_x;
  logic [9*IN_W-1:0] s_rd_patch;
  logic [1:0]       s_rd_img;
  logic             in_wr_valid = 1'b0, in_wr_half = 1'b0, in_wr_tag = 1'b0;
  logic [YW-1:0]    in_wr_y = '0;
  logic [XW-1:0]    in_wr_x = '0;
  logic [IN_W-1:0]  in_wr_data = '0;
  logic             in_nb_valid, in_rd_valid_o, in_init_done, out_init_done;
  logic [INB-1:0]   in_nb;
  logic [IN_W-1:0]  in_rd_word;

  // ---- stage -> output map (the testbench's scrub writes muxed in) ----
  logic             s_wr_valid, s_wr_or;
  logic [YW-1:0]    s_wr_y;
  logic [XW-1:0]    s_wr_x;
  logic [OUT_W-1:0] s_wr_data;
  logic [1:0]       s_wr_img;
  logic             nb_valid;
  logic [ONW-1:0]   nb;
  logic             scrub = 1'b0, sc_valid = 1'b0;
  logic [YW-1:0]    sc_y = '0;
  logic [XW-1:0]    sc_x = '0;
  logic             out_wr_half = 1'b0, out_wr_tag = 1'b0;   // the scrub's
  logic             o_wr_valid, o_wr_or, o_wr_half, o_wr_tag;
  logic [YW-1:0]    o_wr_y;
  logic [XW-1:0]    o_wr_x;
  logic [OUT_W-1:0] o_wr_data;
  assign o_wr_valid = scrub ? sc_valid : s_wr_valid;
  assign o_wr_y     = scrub ? sc_y     : s_wr_y;
  assign o_wr_x     = scrub ? sc_x     : s_wr_x;
  assign o_wr_data  = scrub ? '0       : s_wr_data;
  assign o_wr_or    = scrub ? 1'b0     : s_wr_or;
  assign o_wr_half  = scrub ? out_wr_half : s_wr_img[0];
  assign o_wr_tag   = scrub ? out_wr_tag  : s_wr_img[1];
  logic             o_rd_valid = 1'b0, o_rd_half = 1'b0, o_rd_tag = 1'b0;
  logic [YW-1:0]    o_rd_y = '0;
  logic [XW-1:0]    o_rd_x = '0;
  logic             o_rd_valid_o;
  logic [9*OUT_W-1:0] o_rd_patch;
  logic [OUT_W-1:0] o_rd_word;
  // ---- trace tap ----
  logic             tr_valid;
  logic [PW-1:0]    tr_pix;
  logic [OUT_W-1:0] tr_data;

  snn_conv_stage #(
    .CIN(CIN), .COUT(COUT), .TM(TM), .IMG(IMG), .E(E), .ACC_W(ACC_W),
    .MAX_H(MAX_H), .MAX_W(MAX_W), .LIF_SERIAL(LIF_SERIAL), .OVERLAP(OVERLAP)
  ) dut (
    .clk_i(clk), .rst_ni(rst_n),
    .w_i(w), .hw_i(hw), .cout_i(cout), .t_steps_i(tsteps), .pool_i(pool),
    .out_h_i(out_h), .out_w_i(out_w),
    .wl_en_i(wl_en), .wl_row_i(wl_row), .wl_data_i(wl_data),
    .tl_en_i(tl_en), .tl_ch_i(tl_ch), .tl_pix_i(tl_pix), .tl_th_i(tl_th), .tl_pol_i(tl_pol),
    .bl_en_i(bl_en), .bl_ch_i(bl_ch), .bl_data_i(bl_data),
    .start_i(start), .in_img_i(st_in_img), .out_img_i(st_out_img), .start_ready_o(start_ready),
    .busy_o(busy), .done_o(sdone),
    .events_o(ev), .synops_o(syn), .spikes_o(spk), .pool_spikes_o(pspk),
    .rd_valid_o(s_rd_valid), .rd_y_o(s_rd_y), .rd_x_o(s_rd_x), .rd_img_o(s_rd_img), .rd_patch_i(s_rd_patch),
    .wr_valid_o(s_wr_valid), .wr_y_o(s_wr_y), .wr_x_o(s_wr_x), .wr_data_o(s_wr_data),
    .wr_or_o(s_wr_or), .wr_img_o(s_wr_img), .wr_newbits_valid_i(nb_valid), .wr_newbits_i(nb),
    .tr_valid_o(tr_valid), .tr_pix_o(tr_pix), .tr_data_o(tr_data)
  );

  snn_spike_map #(.WORD_W(IN_W), .MAX_H(MAX_H), .MAX_W(MAX_W), .BANKED(1), .INIT(1)) u_in (
    .clk_i(clk), .rst_ni(rst_n), .h_i(h), .w_i(w),
    .wr_valid_i(in_wr_valid), .wr_half_i(in_wr_half), .wr_y_i(in_wr_y), .wr_x_i(in_wr_x),
    .wr_data_i(in_wr_data), .wr_or_i(1'b0), .wr_tag_i(in_wr_tag),
    .wr_newbits_valid_o(in_nb_valid), .wr_newbits_o(in_nb), .init_i(1'b0), .init_done_o(in_init_done),
    .rd_valid_i(s_rd_valid), .rd_half_i(s_rd_img[0]), .rd_tag_i(s_rd_img[1]),
    .rd_y_i(s_rd_y), .rd_x_i(s_rd_x),
    .rd_valid_o(in_rd_valid_o), .rd_patch_o(s_rd_patch), .rd_word_o(in_rd_word)
  );

  snn_spike_map #(.WORD_W(OUT_W), .MAX_H(MAX_H), .MAX_W(MAX_W), .BANKED(OUT_BANKED), .INIT(1)) u_out (
    .clk_i(clk), .rst_ni(rst_n), .h_i(out_h), .w_i(out_w),
    .wr_valid_i(o_wr_valid), .wr_half_i(o_wr_half), .wr_y_i(o_wr_y), .wr_x_i(o_wr_x),
    .wr_data_i(o_wr_data), .wr_or_i(o_wr_or), .wr_tag_i(o_wr_tag),
    .wr_newbits_valid_o(nb_valid), .wr_newbits_o(nb), .init_i(1'b0), .init_done_o(out_init_done),
    .rd_valid_i(o_rd_valid), .rd_half_i(o_rd_half), .rd_tag_i(o_rd_tag),
    .rd_y_i(o_rd_y), .rd_x_i(o_rd_x),
    .rd_valid_o(o_rd_valid_o), .rd_patch_o(o_rd_patch), .rd_word_o(o_rd_word)
  );

  longint cyc = 0;
  always @(posedge clk) cyc <= cyc + 1;

  // ---- the model ---------------------------------------------------------------
  int wmem [NROW][COUT];
  int bias [COUT];
  int thm  [HW][COUT];        // by pixel index y*w + x (the stage's threshold address)
  bit polm [HW][COUT];

  // images in flight: slot = image number % NSLOT
  logic [IN_W-1:0]  img_in  [NSLOT][HW];     // input word at y*MAX_W + x
  logic [OUT_W-1:0] img_out [NSLOT][HW];     // expected output word at Y*MAX_W + X
  logic [OUT_W-1:0] img_full [NSLOT][HW];    // expected unpooled word at y*w + x (trace tap)
  int     img_T [NSLOT], img_cout [NSLOT], img_dens [NSLOT];
  bit     img_ih [NSLOT], img_itag [NSLOT], img_oh [NSLOT], img_otag [NSLOT];
  longint exp_ev [NSLOT], exp_syn [NSLOT], exp_spk [NSLOT], exp_pspk [NSLOT];
  longint img_work [NSLOT];
  int     img_maxk [NSLOT];

  // the output map as stored (tag, word per physical word), for the scrub
  bit               m_otag  [2][HW];
  logic [OUT_W-1:0] m_oword [2][HW];
  bit               in_tag_cur [2], out_tag_cur [2];

  int g_h, g_w, g_pool, g_oh, g_ow;           // the current run's sizes
  bit g_ovl;                                  // the current run overlaps images
  int g_T, g_cout;                            // its T and out_c (overlapping runs)
  int errors = 0, n_scrub = 0, n_b2b = 0, n_spurious = 0, n_zero_img = 0, n_equal = 0, n_ovl = 0;
  longint n_ideal = 0, n_events = 0, n_spikes = 0;
  real    max_ratio = 0.0;
  int     max_over = -1000000;       // cycles - max(hw, work/E) - largest pixel, worst image
  // measurement runs (full map, one density each)
  int     meas = -1;
  longint meas_c [5], meas_i [5];
  int     meas_n [5];

  // the trace tap: every pixel of each image once, its unpooled word. The
  // images in flight (slots, oldest first): a pixel goes to the oldest one
  // that has not seen it and expects its word.
  int  fl_old = -1, fl_new = -1;
  int  tr_cnt [NSLOT];
  bit  tr_seen [NSLOT][HW];
  always @(negedge clk)
    if (rst_n && tr_valid) begin
      int s;
      s = -1;
      if (int'(tr_pix) < g_h * g_w) begin
        if (fl_old >= 0 && !tr_seen[fl_old][tr_pix] && tr_data === img_full[fl_old][tr_pix]) s = fl_old;
        else if (fl_new >= 0 && !tr_seen[fl_new][tr_pix] && tr_data === img_full[fl_new][tr_pix]) s = fl_new;
      end
      if (s < 0)
        fail($sformatf("trace tap: pixel %0d = %h: out of the map, twice, or not the expected %h",
                       tr_pix, tr_data, (fl_old >= 0 && int'(tr_pix) < int'(HW)) ? img_full[fl_old][tr_pix] : '0));
      else begin
        tr_seen[s][tr_pix] = 1'b1;
        tr_cnt[s]++;
      end
    end

  function automatic int rnd(input int lo, input int hi);   // lo .. hi inclusive
    return int'(longint'(lo) + longint'({32'd0, $urandom}) % (longint'(hi) - longint'(lo) + 1));
  endfunction

  function automatic int okey(input int y, input int x);     // physical word of the output map
    return (OUT_BANKED != 0) ? y * int'(MAX_W) + x : y * g_ow + x;
  endfunction

  task automatic fail(input string msg);
    $display("FAIL tb_conv_stage[%s] cycle %0d: %s", NAME, cyc, msg);
    errors++;
    if (errors >= 10) $fatal(1, "tb_conv_stage[%s]: too many errors", NAME);
  endtask

  // ---- model load (stage idle) --------------------------------------------------
  task automatic load_model(input int style);
    int S;
    S = (style == 2) ? ((IMG != 0) ? 800 : 12) : ((IMG != 0) ? 30000 : 300);
    for (int r = 0; r < int'(NROW); r++) begin
      for (int co = 0; co < int'(COUT); co++) begin
        int v;
        case (style)
          1:       v = (rnd(0, 1) != 0) ? 127 : -127;
          2:       v = rnd(-3, 3);
          default: v = (rnd(0, 9) == 0) ? ((rnd(0, 1) != 0) ? 127 : -127) : rnd(-127, 127);
        endcase
        wmem[r][co] = v;
        wl_data[co*8 +: 8] = 8'(v);
      end
      wl_en  = 1'b1;
      wl_row = RW'(r);
      @(negedge clk);
    end
    wl_en = 1'b0;
    for (int co = 0; co < int'(COUT); co++) begin
      bias[co] = (rnd(0, 7) == 0) ? ((rnd(0, 1) != 0) ? 1 : -1) * ((1 << 27) - 1 - rnd(0, 1000))
                                  : rnd(-S, S);
      bl_en   = 1'b1;
      bl_ch   = CHW'(co);
      bl_data = bias[co];
      @(negedge clk);
    end
    bl_en = 1'b0;
    for (int p = 0; p < int'(HW); p++)
      for (int co = 0; co < int'(COUT); co++) begin
        int r;
        r = rnd(0, 9);
        thm[p][co]  = (r == 0) ? IMax : (r == 1) ? IMin : rnd(-2 * S, 2 * S);
        polm[p][co] = rnd(0, 4) == 0;
        tl_en  = 1'b1;
        tl_ch  = CHW'(co);
        tl_pix = PW'(p);
        tl_th  = thm[p][co];
        tl_pol = polm[p][co];
        @(negedge clk);
      end
    tl_en = 1'b0;
  endtask

  // ---- one image: input and expected results -------------------------------------
  function automatic void compute(input int s);
    int T, nc;
    longint ev_n, syn_n, spk_n, pspk_n, work;
    int maxk;
    logic [OUT_W-1:0] full [HW];             // unpooled spike words, y*MAX_W + x
    T  = img_T[s];
    nc = img_cout[s];
    ev_n = 0; syn_n = 0; spk_n = 0; pspk_n = 0; work = 0; maxk = 0;
    for (int y = 0; y < g_h; y++)
      for (int x = 0; x < g_w; x++) begin
        longint acc [COUT][TM];
        int k;
        foreach (acc[co, t]) acc[co][t] = 0;
        k = 0;
        for (int ky = 0; ky < 3; ky++)
          for (int kx = 0; kx < 3; kx++) begin
            int yi, xi;
            yi = y + ky - 1;
            xi = x + kx - 1;
            if (yi < 0 || xi < 0 || yi >= g_h || xi >= g_w) continue;
            for (int ci = 0; ci < int'(CIN); ci++) begin
              logic [VW-1:0] v;
              int row;
              v = img_in[s][yi * int'(MAX_W) + xi][ci*VW +: VW];
              if (v == '0) continue;
              row = ci * 9 + ky * 3 + kx;
              k++;
              syn_n += (IMG != 0) ? 1 : $countones(v);
              for (int co = 0; co < int'(COUT); co++)
                if (IMG != 0) acc[co][0] += longint'(v) * longint'(wmem[row][co]);
                else
                  for (int t = 0; t < int'(TM); t++)
                    if (v[t]) acc[co][t] += longint'(wmem[row][co]);
            end
          end
        ev_n += k;
        work += k + 1;
        if (k > maxk) maxk = k;
        full[y * int'(MAX_W) + x] = '0;
        for (int co = 0; co < nc; co++) begin
          int u, v, a;
          bit f;
          u = 0;
          for (int t = 0; t < T; t++) begin
            a = int'(acc[co][(IMG != 0) ? 0 : t]);
            if (longint'(a) >= (longint'(1) << (ACC_W - 1)) || longint'(a) < -(longint'(1) << (ACC_W - 1)))
              $fatal(1, "tb_conv_stage[%s]: accumulator %0d exceeds ACC_W (testbench error)", NAME, a);
            v = (u >>> 2) + a + bias[co];
            f = polm[y * g_w + x][co] ? (v < thm[y * g_w + x][co]) : (v > thm[y * g_w + x][co]);
            n_equal += int'(v == thm[y * g_w + x][co]);
            u = f ? 0 : v;
            full[y * int'(MAX_W) + x][co*TM + t] = f;
            spk_n += longint'(f);
          end
        end
        img_full[s][y * g_w + x] = full[y * int'(MAX_W) + x];
      end
    for (int yy = 0; yy < g_oh; yy++)
      for (int xx = 0; xx < g_ow; xx++) begin
        logic [OUT_W-1:0] o;
        if (g_pool != 0)
          o = full[(2*yy) * int'(MAX_W) + 2*xx]     | full[(2*yy) * int'(MAX_W) + 2*xx + 1]
            | full[(2*yy + 1) * int'(MAX_W) + 2*xx] | full[(2*yy + 1) * int'(MAX_W) + 2*xx + 1];
        else
          o = full[yy * int'(MAX_W) + xx];
        img_out[s][yy * int'(MAX_W) + xx] = o;
        pspk_n += $countones(o);
      end
    exp_ev[s]   = ev_n * nc;
    exp_syn[s]  = syn_n * nc;
    exp_spk[s]  = spk_n;
    exp_pspk[s] = pspk_n;
    img_work[s] = work;
    img_maxk[s] = maxk;
  endfunction

  // dens: percent of (pixel, channel) entries with an event; -1: per row
  function automatic void gen_image(input int s, input int dens, input int gimg, input int ooff);
    int in_c, T, vst;
    in_c = (rnd(0, 3) == 0 && meas < 0) ? rnd(1, CIN) : int'(CIN);
    T    = (rnd(0, 2) == 0 && meas < 0) ? rnd(1, TM) : int'(TM);
    img_cout[s] = (rnd(0, 3) == 0 && meas < 0) ? rnd(1, COUT) : int'(COUT);
    if (g_ovl) begin                       // one T and out_c per overlapping run
      if (g_T == 0) begin
        g_T    = T;
        g_cout = img_cout[s];
      end
      T           = g_T;
      img_cout[s] = g_cout;
    end
    img_T[s]    = T;
    img_dens[s] = dens;
    vst = rnd(0, 3);                       // 0 random, 1 all ones, 2 single steps, 3 mixed
    for (int p = 0; p < int'(HW); p++) img_in[s][p] = '0;
    for (int y = 0; y < g_h; y++) begin
      int d;
      d = (dens >= 0) ? dens : rnd(0, 3) * 33;
      for (int x = 0; x < g_w; x++) begin
        logic [IN_W-1:0] word;
        word = '0;
        for (int ci = 0; ci < in_c; ci++) begin
          logic [VW-1:0] v;
          int st;
          v  = '0;
          st = (vst == 3) ? rnd(0, 2) : vst;
          if (rnd(0, 99) < d) begin
            if (IMG != 0) begin
              case (st)
                0:       v = VW'(rnd(0, 255));     // 0: no event
                1:       v = VW'(255);
                default: v = VW'((rnd(0, 1) != 0) ? 1 : 128);
              endcase
            end else begin
              case (st)
                0:       v = VW'(rnd(1, (1 << T) - 1));
                1:       v = VW'((1 << T) - 1);
                default: v = VW'(1) << rnd(0, T - 1);
              endcase
            end
          end
          word[ci*VW +: VW] = v;
        end
        img_in[s][y * int'(MAX_W) + x] = word;
      end
    end
    // halves alternate; every use of a half flips its tag
    img_ih[s] = 1'(gimg % 2);
    img_oh[s] = 1'((gimg + ooff) % 2);
    in_tag_cur[img_ih[s]]  = !in_tag_cur[img_ih[s]];
    out_tag_cur[img_oh[s]] = !out_tag_cur[img_oh[s]];
    img_itag[s] = in_tag_cur[img_ih[s]];
    img_otag[s] = out_tag_cur[img_oh[s]];
    compute(s);
  endfunction

  // ---- pipeline actors ------------------------------------------------------------
  // write image s into its input half, one word per cycle (some gaps); returns
  // 3 cycles after the last write (the map commits it by then)
  task automatic feed(input int s);
    for (int y = 0; y < g_h; y++)
      for (int x = 0; x < g_w; x++) begin
        while (rnd(0, 9) == 0) begin
          in_wr_valid = 1'b0;
          @(negedge clk);
        end
        in_wr_valid = 1'b1;
        in_wr_half  = img_ih[s];
        in_wr_tag   = img_itag[s];
        in_wr_y     = YW'(y);
        in_wr_x     = XW'(x);
        in_wr_data  = img_in[s][y * int'(MAX_W) + x];
        @(negedge clk);
      end
    in_wr_valid = 1'b0;
    repeat (3) @(negedge clk);
  endtask

  // read image s's output map back (its half and tag) and compare every word
  task automatic read_check(input int s, input int num);
    int n;
    n = g_oh * g_ow;
    if (n == 0) return;
    o_rd_half  = img_oh[s];
    o_rd_tag   = img_otag[s];
    o_rd_valid = 1'b1;
    o_rd_y     = '0;
    o_rd_x     = '0;
    for (int k = 0; k < n; k++) begin
      int yy, xx;
      @(negedge clk);
      yy = k / g_ow;
      xx = k % g_ow;
      if (!o_rd_valid_o || o_rd_word !== img_out[s][yy * int'(MAX_W) + xx])
        fail($sformatf("image %0d (%0dx%0d pool %0d T %0d cout %0d dens %0d) word (%0d,%0d) = %h, expected %h",
                       num, g_h, g_w, g_pool, img_T[s], img_cout[s], img_dens[s], yy, xx,
                       o_rd_word, img_out[s][yy * int'(MAX_W) + xx]));
      m_otag[img_oh[s]][okey(yy, xx)]  = img_otag[s];
      m_oword[img_oh[s]][okey(yy, xx)] = img_out[s][yy * int'(MAX_W) + xx];
      if (k + 1 < n) begin
        o_rd_y = YW'((k + 1) / g_ow);
        o_rd_x = XW'((k + 1) % g_ow);
      end else begin
        o_rd_valid = 1'b0;
      end
    end
    n_words += n;
  endtask

  // the images of the current run (index: image - gimg)
  int gimg = 0;
  localparam int unsigned MAXN = 8;
  bit     f_fed [MAXN], f_started [MAXN], f_done [MAXN], f_checked [MAXN];
  longint st_cyc [MAXN], dn_cyc [MAXN];

  // wait for done_o of image s (the oldest in flight), check counters and
  // cycles: from its start, or from the done_o of the image before if that
  // came later (overlap: the engines were still busy with it)
  task automatic wait_done(input int s, input int num, output longint cd);
    longint c0;
    longint c, bound, ideal, lif_cpp, xtail;
    int hwn;
    bit fin;
    hwn = g_h * g_w;
    c0  = st_cyc[num - gimg];
    if (num > gimg && dn_cyc[num - gimg - 1] > c0) c0 = dn_cyc[num - gimg - 1];
    // the LIF unit takes a pixel per cycle, or (serial) per T + 1 cycles
    lif_cpp = (LIF_SERIAL != 0) ? longint'(img_T[s]) + 1 : 1;
    xtail   = (LIF_SERIAL != 0) ? longint'(TM) + 4 : 0;
    ideal = longint'(hwn) * lif_cpp;
    if ((img_work[s] + E - 1) / E > ideal) ideal = (img_work[s] + E - 1) / E;
    // generous: fetch and engine work in sequence, the largest pixel, the
    // LIF / write drain
    bound = ideal + (img_work[s] + E - 1) / E + img_maxk[s] + 4 * TM + 40 + xtail;
    fin = 1'b0;
    while (!fin) begin
      @(negedge clk);
      if (sdone) begin
        fin = 1'b1;
      end else begin
        if (!busy) fail($sformatf("image %0d: stage idle without done_o", num));
        if (cyc - c0 > 4 * bound + 1000) $fatal(1, "tb_conv_stage[%s]: image %0d hangs", NAME, num);
      end
    end
    cd = cyc;
    c  = cyc - c0;
    if (tr_cnt[s] != hwn) fail($sformatf("image %0d: %0d trace tap pixels, expected %0d", num, tr_cnt[s], hwn));
    fl_old = fl_new;                          // (its taps are all in: the tail is over)
    fl_new = -1;
    if (64'(ev) != exp_ev[s] || 64'(syn) != exp_syn[s] || 64'(spk) != exp_spk[s] || 64'(pspk) != exp_pspk[s])
      fail($sformatf("image %0d (%0dx%0d pool %0d T %0d cout %0d dens %0d) counters: events %0d/%0d synops %0d/%0d spikes %0d/%0d pool_spikes %0d/%0d",
                     num, g_h, g_w, g_pool, img_T[s], img_cout[s], img_dens[s], ev, exp_ev[s], syn,
                     exp_syn[s], spk, exp_spk[s], pspk, exp_pspk[s]));
    // the stage proper: the engines' work or one patch per cycle, whichever
    // is larger (+1/8 where the two meet: the two-slot patch buffer does not
    // hide every run of long pixels), plus the largest pixel and the LIF /
    // write drain
    if (c > ideal + ideal / 8 + img_maxk[s] + 2 * TM + 24 + xtail)
      fail($sformatf("image %0d (%0dx%0d, work %0d, largest pixel %0d, E %0d): %0d cycles, over 9/8 max(hw, work/E) + largest + 2T + 24 = %0d",
                     num, g_h, g_w, img_work[s], img_maxk[s], E, c, ideal + ideal / 8 + img_maxk[s] + 2 * TM + 24 + xtail));
    if (c > bound)
      fail($sformatf("image %0d (%0dx%0d, work %0d, E %0d): %0d cycles, bound %0d",
                     num, g_h, g_w, img_work[s], E, c, bound));
    // no input events: one patch per cycle, then the drain
    if (img_work[s] == longint'(hwn)) begin
      n_zero_img++;
      if (c > longint'(hwn) * lif_cpp + 2 * TM + 16 + xtail)
        fail($sformatf("image %0d without events (%0dx%0d): %0d cycles, expected <= %0d",
                       num, g_h, g_w, c, longint'(hwn) * lif_cpp + 2 * TM + 16 + xtail));
    end
    if (real'(c) / real'(ideal) > max_ratio) max_ratio = real'(c) / real'(ideal);
    if (int'(c - ideal) - img_maxk[s] > max_over) max_over = int'(c - ideal) - img_maxk[s];
    if (meas >= 0) begin
      meas_c[meas] += c;
      meas_i[meas] += ideal;
      meas_n[meas]++;
    end
    n_cycles += c;
    n_ideal  += ideal;
    n_events += exp_ev[s];
    n_spikes += exp_spk[s];
    n_images++;
  endtask

  // zero every word of output half hh whose stored tag equals its next tag
  // (the testbench owns the map's write port: the stage is idle)
  task automatic scrub_if_needed(input int hh);
    bit haz, nt;
    nt  = !out_tag_cur[hh];
    haz = 1'b0;
    for (int yy = 0; yy < g_oh; yy++)
      for (int xx = 0; xx < g_ow; xx++)
        if (m_otag[hh][okey(yy, xx)] == nt && m_oword[hh][okey(yy, xx)] != '0) haz = 1'b1;
    if (!haz) return;
    n_scrub++;
    scrub       = 1'b1;
    out_wr_half = 1'(hh);
    out_wr_tag  = !nt;
    out_h       = YW'(MAX_H);                  // every physical word
    out_w       = XW'(MAX_W);
    for (int p = 0; p < int'(HW); p++) begin
      sc_valid = 1'b1;
      sc_y     = YW'(p / int'(MAX_W));
      sc_x     = XW'(p % int'(MAX_W));
      m_otag[hh][p]  = !nt;
      m_oword[hh][p] = '0;
      @(negedge clk);
    end
    sc_valid = 1'b0;
    repeat (4) @(negedge clk);
    scrub = 1'b0;
    out_h = YW'(g_oh);
    out_w = XW'(g_ow);
  endtask

  // configuration of image s, start it (the stage takes a start now)
  task automatic start_image(input int s, input int num);
    if (!start_ready) fail($sformatf("image %0d: start while the stage takes none", num));
    if (busy && !g_ovl) fail($sformatf("image %0d: start while busy", num));
    if (busy) n_ovl++;
    tsteps      = 5'(img_T[s]);
    cout        = CW'(img_cout[s]);
    st_in_img   = {img_itag[s], img_ih[s]};
    st_out_img  = {img_otag[s], img_oh[s]};
    start       = 1'b1;
    st_cyc[num - gimg] = cyc;
    tr_cnt[s]   = 0;
    for (int p = 0; p < int'(HW); p++) tr_seen[s][p] = 1'b0;
    if (fl_old < 0) fl_old = s;
    else            fl_new = s;
  endtask

  // a run: n images of one size through the pipeline, then drained. Four
  // actors, image by image: the feeder writes image i into its input half
  // once image i-2 is done (its half read); the starter starts it once it is
  // written and image i-2's output is read back, after the done_o of image
  // i-1 (back to back or after a gap) or, overlapping, as soon as the stage
  // takes it, with spurious start pulses while the stage takes none; the
  // finisher checks each done_o; the checker reads each image's output back.
  task automatic run(input int rh, input int rw, input int rp, input int n, input int dmode, input bit ovl);
    int ooff;
    g_h = rh; g_w = rw; g_pool = rp;
    g_oh = rp ? rh / 2 : rh;
    g_ow = rp ? rw / 2 : rw;
    g_ovl = ovl && OVERLAP != 0;
    g_T = 0;
    h = YW'(g_h); w = XW'(g_w); hw = PW'(g_h * g_w); pool = 1'(rp);
    out_h = YW'(g_oh); out_w = XW'(g_ow);
    @(negedge clk);
    scrub_if_needed(0);
    scrub_if_needed(1);
    ooff = rnd(0, 1);
    for (int i = 0; i < int'(MAXN); i++) begin
      f_fed[i] = 1'b0; f_started[i] = 1'b0; f_done[i] = 1'b0; f_checked[i] = 1'b0;
    end
    // (every branch in begin / end: Verilator 5.006 runs the statements
    // after a timed loop of a task called as a bare fork branch too early)
    fork
      begin   // feeder
        for (int i = 0; i < n; i++) begin
          while (i >= 2 && !f_done[i - 2]) @(negedge clk);
          gen_image((gimg + i) % NSLOT, (dmode >= -1) ? dmode : pick_dens(), gimg + i, ooff);
          feed((gimg + i) % NSLOT);
          f_fed[i] = 1'b1;
        end
      end
      begin   // starter
        for (int i = 0; i < n; i++) begin
          bit go;
          go = 1'b0;
          while (!go) begin
            if (f_fed[i] && (i < 2 || f_checked[i - 2]) && (i == 0 || f_started[i - 1])) begin
              if (g_ovl) go = start_ready;
              else if (i == 0 || f_done[i - 1] || (sdone && f_started[i - 1])) begin
                // in the done cycle: back to back, or after a gap
                if (i > 0 && sdone && rnd(0, 1) == 0) n_b2b++;
                else if (i > 0) repeat (rnd(1, 6)) @(negedge clk);
                go = 1'b1;
              end
            end
            if (go) start_image((gimg + i) % NSLOT, gimg + i);
            else begin
              if (busy && !start_ready && rnd(0, 19) == 0) begin
                start = 1'b1;                 // ignored: the stage takes no start now
                n_spurious++;
              end
              @(negedge clk);
              start = 1'b0;
            end
          end
          @(negedge clk);
          start = 1'b0;
          f_started[i] = 1'b1;
        end
      end
      begin   // finisher
        for (int i = 0; i < n; i++) begin
          while (!f_started[i]) @(negedge clk);
          wait_done((gimg + i) % NSLOT, gimg + i, dn_cyc[i]);
          f_done[i] = 1'b1;
        end
      end
      begin   // checker
        for (int i = 0; i < n; i++) begin
          while (!f_done[i]) @(negedge clk);
          if (i + 1 == n) repeat (rnd(0, 3)) @(negedge clk);
          read_check((gimg + i) % NSLOT, gimg + i);
          f_checked[i] = 1'b1;
        end
      end
    join
    gimg += n;
    @(negedge clk);
  endtask

  function automatic int pick_dens();
    case (rnd(0, 6))
      0: return 0;
      1: return 5;
      2: return 25;
      3: return 50;
      4: return 100;
      5: return -1;
      default: return rnd(0, 100);
    endcase
  endfunction

  // map sizes: the special ones first, then random
  task automatic pick_size(input int idx, output int rh, output int rw, output int rp);
    case (idx)
      0: begin rh = MAX_H; rw = MAX_W; rp = 0; end
      1: begin rh = MAX_H; rw = MAX_W; rp = 1; end
      2: begin rh = 7; rw = 5; rp = 1; end
      3: begin rh = 1; rw = 1; rp = 0; end
      4: begin rh = 5; rw = 7; rp = 0; end
      5: begin rh = 3; rw = 3; rp = 1; end
      6: begin rh = 7; rw = 5; rp = 0; end
      7: begin rh = 1; rw = MAX_W; rp = 0; end
      8: begin rh = MAX_H; rw = 1; rp = 0; end
      9: begin rh = 2; rw = 2; rp = 1; end
      10: begin rh = MAX_H - 1; rw = MAX_W; rp = 1; end
      default: begin
        rh = rnd(1, MAX_H);
        rw = rnd(1, MAX_W);
        rp = (rh >= 2 && rw >= 2) ? rnd(0, 1) : 0;
      end
    endcase
    if (rh > int'(MAX_H)) rh = MAX_H;
    if (rw > int'(MAX_W)) rw = MAX_W;
    if (rh < 2 || rw < 2) rp = 0;
  endtask

  initial begin
    int idx;
    done = 1'b0;
    n_images = 0;
    n_words = 0;
    n_cycles = 0;
    in_tag_cur  = '{1, 1};              // the first use of a half has tag 0
    out_tag_cur = '{1, 1};
    for (int hh = 0; hh < 2; hh++)
      for (int p = 0; p < int'(HW); p++) begin
        m_otag[hh][p]  = 1'b1;             // INIT = 1: tag 1, zero data
        m_oword[hh][p] = '0;
      end
    @(posedge rst_n);
    @(negedge clk);
    while (!in_init_done || !out_init_done) @(negedge clk);
    idx = 0;
    for (int m = 0; m < int'(MODELS); m++) begin
      load_model(m % 3 == 1 ? 1 : m % 3 == 2 ? 2 : 0);
      for (int r = 0; r < int'(RUNS); r++) begin
        int rh, rw, rp, n, dm;
        pick_size(idx, rh, rw, rp);
        n  = rnd(1, 5);
        // the first runs: every density once, all images at it
        dm = (idx < 6) ? ((idx == 0) ? 0 : (idx == 1) ? 100 : (idx == 2) ? 5 : (idx == 3) ? 50
                                     : (idx == 4) ? 25 : -1)
                       : -2;
        run(rh, rw, rp, n, dm, rnd(0, 1) != 0);
        idx++;
      end
    end
    // cycles per image at the full map size, back to back where the feeder allows
    for (int d = 0; d < 5; d++) begin
      meas_c[d] = 0;
      meas_i[d] = 0;
      meas_n[d] = 0;
    end
    for (int d = 0; d < 5; d++) begin
      meas = d;
      run(MAX_H, MAX_W, 0, 4, (d == 0) ? 0 : (d == 1) ? 5 : (d == 2) ? 25 : (d == 3) ? 50 : 100, 1'b1);
    end
    meas = -1;
    if (errors != 0) $fatal(1, "tb_conv_stage[%s]: %0d errors", NAME, errors);
    $display("tb_conv_stage[%s]: CIN=%0d COUT=%0d TM=%0d IMG=%0d E=%0d ACC_W=%0d OVERLAP=%0d %0dx%0d: %0d images, %0d words, %0d events, %0d spikes, v==th %0d; %0d back-to-back starts, %0d overlapped starts, %0d ignored starts, %0d scrubs",
             NAME, CIN, COUT, TM, IMG, E, ACC_W, OVERLAP, MAX_H, MAX_W, n_images, n_words, n_events, n_spikes,
             n_equal, n_b2b, n_ovl, n_spurious, n_scrub);
    $display("tb_conv_stage[%s]: %0d cycles (%0.1f per image), max(hw, work/E) %0d: ratio %0.3f, worst image %0.3f, worst overhead beyond the largest pixel +%0d cycles, %0d images without events at one patch per cycle",
             NAME, n_cycles, real'(n_cycles) / real'(n_images), n_ideal, real'(n_cycles) / real'(n_ideal),
             max_ratio, max_over, n_zero_img);
    $display("tb_conv_stage[%s]: %0dx%0d, cycles per image (max(hw, work/E)) at density 0%%: %0.1f (%0.1f), 5%%: %0.1f (%0.1f), 25%%: %0.1f (%0.1f), 50%%: %0.1f (%0.1f), 100%%: %0.1f (%0.1f)",
             NAME, MAX_H, MAX_W,
             real'(meas_c[0]) / meas_n[0], real'(meas_i[0]) / meas_n[0], real'(meas_c[1]) / meas_n[1], real'(meas_i[1]) / meas_n[1],
             real'(meas_c[2]) / meas_n[2], real'(meas_i[2]) / meas_n[2], real'(meas_c[3]) / meas_n[3], real'(meas_i[3]) / meas_n[3],
             real'(meas_c[4]) / meas_n[4], real'(meas_i[4]) / meas_n[4]);
    done = 1'b1;
  end
endmodule

module tb_conv_stage;
  logic clk = 1'b0, rst_n = 1'b0;
  always #1 clk = ~clk;

  localparam int K = 8;
  bit     done [K];
  int     images [K], words [K];
  longint cycles [K];

  // the brief's sets: spiking, E = 2
  conv_stage_check #(.CIN(4), .COUT(8), .TM(4), .IMG(0), .E(2), .ACC_W(24), .MAX_H(12), .MAX_W(12),
                     .OUT_BANKED(1), .MODELS(4), .RUNS(40), .NAME("spk4x8"))
    u_a (clk, rst_n, done[0], images[0], words[0], cycles[0]);
  // odd everything, three engines (one RAM copy serves one), narrow accumulators,
  // a one-bank output map (the fc stage's input)
  conv_stage_check #(.CIN(3), .COUT(5), .TM(3), .IMG(0), .E(3), .ACC_W(13), .MAX_H(9), .MAX_W(7),
                     .OUT_BANKED(0), .MODELS(4), .RUNS(40), .NAME("spk3x5"))
    u_b (clk, rst_n, done[1], images[1], words[1], cycles[1]);
  // the image stage: one input channel, 8-bit pixels
  conv_stage_check #(.CIN(1), .COUT(8), .TM(4), .IMG(1), .E(2), .ACC_W(24), .MAX_H(10), .MAX_W(10),
                     .OUT_BANKED(1), .MODELS(4), .RUNS(40), .NAME("img1x8"))
    u_c (clk, rst_n, done[2], images[2], words[2], cycles[2]);
  // (one image at a time: OVERLAP = 0)
  conv_stage_check #(.CIN(2), .COUT(8), .TM(4), .IMG(1), .E(2), .ACC_W(24), .MAX_H(8), .MAX_W(11),
                     .OUT_BANKED(1), .OVERLAP(0), .MODELS(4), .RUNS(30), .NAME("img2x8"))
    u_d (clk, rst_n, done[3], images[3], words[3], cycles[3]);
  // nine picker groups, four engines (two RAM copies), T = 2
  conv_stage_check #(.CIN(8), .COUT(4), .TM(2), .IMG(0), .E(4), .ACC_W(16), .MAX_H(8), .MAX_W(8),
                     .OUT_BANKED(1), .MODELS(4), .RUNS(30), .NAME("spk8x4e4"))
    u_e (clk, rst_n, done[4], images[4], words[4], cycles[4]);
  // one engine, T = 5
  conv_stage_check #(.CIN(2), .COUT(3), .TM(5), .IMG(0), .E(1), .ACC_W(13), .MAX_H(6), .MAX_W(7),
                     .OUT_BANKED(1), .MODELS(4), .RUNS(30), .NAME("spk2x3e1"))
    u_f (clk, rst_n, done[5], images[5], words[5], cycles[5]);
  // the step-serial LIF unit: spiking with three engines, and the image stage
  conv_stage_check #(.CIN(4), .COUT(6), .TM(4), .IMG(0), .E(3), .ACC_W(15), .MAX_H(8), .MAX_W(9),
                     .OUT_BANKED(1), .LIF_SERIAL(1), .MODELS(4), .RUNS(30), .NAME("spk4x6ser"))
    u_g (clk, rst_n, done[6], images[6], words[6], cycles[6]);
  conv_stage_check #(.CIN(1), .COUT(5), .TM(5), .IMG(1), .E(2), .ACC_W(24), .MAX_H(7), .MAX_W(9),
                     .OUT_BANKED(0), .LIF_SERIAL(1), .MODELS(4), .RUNS(30), .NAME("img1x5ser"))
    u_h (clk, rst_n, done[7], images[7], words[7], cycles[7]);

  initial begin
    #50ms;
    $fatal(1, "tb_conv_stage: timeout");
  end

  initial begin
    int ni, nw;
    longint nc;
    repeat (4) @(posedge clk);
    #0.5 rst_n = 1'b1;
    wait (done[0] && done[1] && done[2] && done[3] && done[4] && done[5] && done[6] && done[7]);
    ni = 0;
    nw = 0;
    nc = 0;
    for (int k = 0; k < K; k++) begin
      ni += images[k];
      nw += words[k];
      nc += cycles[k];
    end
    $display("tb_conv_stage: PASS (%0d images, %0d output words, %0d stage cycles, 8 configurations)", ni, nw, nc);
    $finish;
  end
endmodule
