// tb_spike_map - self-checking testbench of snn_spike_map (the ping-pong
// spike map of docs/rtl-pipeline.md) and snn_map_writer (its write side with
// the 2x2 OR-pools of docs/numerics.md folded in).
//
// Three configurations: a banked map (3x3 patch reads) of odd maximum size
// 9x7, a one-bank map (word reads, the fc input), and the default network's
// 28x28 x 128-bit banked map. In each:
//   * random phase: the producer writes one half (overwrite and OR, random
//     tags, back-to-back writes to one word, hot words) while the consumer
//     reads the other half at random positions (one row / column outside the
//     map included) with the matching or the other tag; halves swap with the
//     minimum gap (the consumer reads a half from the 3rd cycle after the
//     producer's last write). Every read and every new-bit count is checked
//     against a model of the word store written from the specification.
//   * image phase: images alternate halves and tags (tag flipped per use of
//     a half, no clearing); image i is written through snn_map_writer from
//     unpooled pixels in raster order, one per cycle, with k = 0, 1, 2 folded
//     pools (odd sizes: dropped rows / columns), while image i-1 is read at
//     every position (edges, corners, one outside) and compared with an
//     OR-pool reference of image i-1; reads with the other tag must be all
//     zero; the image's new-bit total must equal the pooled map's popcount.
//   Sizes: the maximum, odd sizes (9x7, 7x5), 1x1, 2x2, random.
// Outputs must appear one cycle (reads) and four cycles (new bits; five
// through the writer) after their request.
// Exit status: 0 pass, non-zero fail.
`timescale 1ns/1ps
`default_nettype none

module spike_map_check #(
  parameter int unsigned COUT   = 4,
  parameter int unsigned TM     = 3,
  parameter int unsigned MAX_H  = 9,
  parameter int unsigned MAX_W  = 7,
  parameter int unsigned BANKED = 1,
  parameter int unsigned ROUNDS = 8,      // random-phase rounds
  parameter int unsigned IMAGES = 24,     // image-phase images per size
  parameter string       NAME   = "cfg"
) (
  input  wire  clk,
  input  wire  rst_n,
  output logic done,
  output int   n_reads,
  output int   n_writes,
  output int   n_newbits
);
  localparam int unsigned WW  = COUT * TM;
  localparam int unsigned YW  = $clog2(MAX_H + 1);
  localparam int unsigned XW  = $clog2(MAX_W + 1);
  localparam int unsigned CNW = $clog2(WW + 1);
  localparam int unsigned NK  = MAX_H * MAX_W;

  // ---- DUTs ----------------------------------------------------------------------
  logic [YW-1:0] h;
  logic [XW-1:0] w;
  // direct write port / writer input
  logic          use_writer;
  logic          d_valid, d_half, d_or, d_tag;
  logic [YW-1:0] d_y;
  logic [XW-1:0] d_x;
  logic [WW-1:0] d_data;
  logic [1:0]    pools;
  logic [YW-1:0] out_h;
  logic [XW-1:0] out_w;
  // writer outputs
  logic          mw_valid, mw_half, mw_or, mw_tag;
  logic [YW-1:0] mw_y;
  logic [XW-1:0] mw_x;
  logic [WW-1:0] mw_data;
  // map write port
  logic          wr_valid, wr_half, wr_or, wr_tag;
  logic [YW-1:0] wr_y;
  logic [XW-1:0] wr_x;
  logic [WW-1:0] wr_data;
  logic          nb_valid;
  logic [CNW-1:0] nb;
  // read port
  logic          rd_valid, rd_half, rd_tag, rd_valid_o;
  logic [YW-1:0] rd_y;
  logic [XW-1:0] rd_x;
  logic [9*WW-1:0] rd_patch;
  logic [WW-1:0] rd_word;

  snn_map_writer #(.COUT(COUT), .TM(TM), .POOL_MAX(2), .MAX_H(MAX_H), .MAX_W(MAX_W)) u_writer (
    .clk_i(clk), .rst_ni(rst_n),
    .pools_i(pools), .out_h_i(out_h), .out_w_i(out_w), .half_i(d_half), .tag_i(d_tag),
    .valid_i(d_valid && use_writer), .y_i(d_y), .x_i(d_x), .spikes_i(d_data),
    .wr_valid_o(mw_valid), .wr_half_o(mw_half), .wr_y_o(mw_y), .wr_x_o(mw_x),
    .wr_data_o(mw_data), .wr_or_o(mw_or), .wr_tag_o(mw_tag)
  );

  always_comb begin
    if (use_writer) begin
      wr_valid = mw_valid; wr_half = mw_half; wr_y = mw_y; wr_x = mw_x;
      wr_data = mw_data; wr_or = mw_or; wr_tag = mw_tag;
    end else begin
      wr_valid = d_valid; wr_half = d_half; wr_y = d_y; wr_x = d_x;
      wr_data = d_data; wr_or = d_or; wr_tag = d_tag;
    end
  end

  snn_spike_map #(.WORD_W(WW), .MAX_H(MAX_H), .MAX_W(MAX_W), .BANKED(BANKED)) u_map (
    .clk_i(clk), .rst_ni(rst_n), .h_i(h), .w_i(w),
    .wr_valid_i(wr_valid), .wr_half_i(wr_half), .wr_y_i(wr_y), .wr_x_i(wr_x),
    .wr_data_i(wr_data), .wr_or_i(wr_or), .wr_tag_i(wr_tag),
    .wr_newbits_valid_o(nb_valid), .wr_newbits_o(nb), .init_i(1'b0), .init_done_o(),
    .rd_valid_i(rd_valid), .rd_half_i(rd_half), .rd_tag_i(rd_tag), .rd_y_i(rd_y), .rd_x_i(rd_x),
    .rd_valid_o(rd_valid_o), .rd_patch_o(rd_patch), .rd_word_o(rd_word)
  );

  // ---- models ----------------------------------------------------------------------
  // the word store: stored tag and word per physical location
  logic [WW-1:0] m_word [2][NK];
  bit            m_tag  [2][NK];
  // image phase: the OR-pooled image held by each half, and its tag
  logic [WW-1:0] ref_img [2][NK];
  bit            ref_tag [2];
  bit            use_ref;          // reads are checked against ref_img

  function automatic int key(input int y, input int x);
    return (BANKED != 0) ? y * int'(MAX_W) + x : y * int'(w) + x;
  endfunction

  function automatic logic [WW-1:0] model_word(input bit hf, input bit tg, input int y, input int x);
    if (y < 0 || x < 0 || y >= int'(h) || x >= int'(w)) return '0;
    if (use_ref) return (tg == ref_tag[hf]) ? ref_img[hf][y * int'(MAX_W) + x] : '0;
    return (m_tag[hf][key(y, x)] == tg) ? m_word[hf][key(y, x)] : '0;
  endfunction

  function automatic int model_write(input bit hf, input bit tg, input int y, input int x,
                                     input logic [WW-1:0] data, input bit orw);
    logic [WW-1:0] old, nw;
    int k;
    k   = key(y, x);
    old = (m_tag[hf][k] == tg) ? m_word[hf][k] : '0;
    nw  = orw ? (old | data) : data;
    m_tag[hf][k]  = tg;
    m_word[hf][k] = nw;
    return $countones(nw & ~old);
  endfunction

  // ---- checkers ------------------------------------------------------------------------
  longint cycle = 0;
  always @(posedge clk) cycle <= cycle + 1;
  int errors = 0;

  logic [9*WW-1:0] rq_patch[$];
  longint          rq_due[$];
  int              nq_val[$];
  longint          nq_due[$];
  int              nb_sum;          // new bits reported (image phase)

  always @(negedge clk) begin
    if (rst_n) begin
      if (rd_valid_o) begin
        logic [9*WW-1:0] e;
        longint          due;
        if (rq_due.size() == 0) begin
          errors++;
          $display("FAIL %s: unexpected read result in cycle %0d", NAME, cycle);
        end else begin
          e   = rq_patch.pop_front();
          due = rq_due.pop_front();
          n_reads++;
          if (due != cycle || rd_patch !== e || rd_word !== e[4*WW +: WW]) begin
            errors++;
            $display("FAIL %s: read in cycle %0d (due %0d): patch %h, expected %h", NAME, cycle, due,
                     rd_patch, e);
          end
        end
      end else if (rq_due.size() != 0 && rq_due[0] <= cycle) begin
        errors++;
        $display("FAIL %s: read result due in cycle %0d missing", NAME, rq_due[0]);
        void'(rq_due.pop_front());
        void'(rq_patch.pop_front());
      end
      if (nb_valid) begin
        int     e;
        longint due;
        if (nq_due.size() == 0) begin
          errors++;
          $display("FAIL %s: unexpected new-bit count in cycle %0d", NAME, cycle);
        end else begin
          e   = nq_val.pop_front();
          due = nq_due.pop_front();
          n_newbits++;
          nb_sum += int'(nb);
          if (due != cycle || int'(nb) != e) begin
            errors++;
            $display("FAIL %s: new bits in cycle %0d (due %0d): %0d, expected %0d", NAME, cycle, due, nb, e);
          end
        end
      end else if (nq_due.size() != 0 && nq_due[0] <= cycle) begin
        errors++;
        $display("FAIL %s: new-bit count due in cycle %0d missing", NAME, nq_due[0]);
        void'(nq_due.pop_front());
        void'(nq_val.pop_front());
      end
      if (errors > 10) $fatal(1, "tb_spike_map: %s: too many errors", NAME);
    end
  end

  // ---- stimulus (inputs change 1 ns after the clock edge) -----------------------------------
  function automatic int rnd(input int lo, input int hi);
    return lo + int'($urandom % 32'(hi - lo + 1));
  endfunction

  function automatic logic [WW-1:0] rnd_word();
    logic [WW+31:0] r;
    logic [WW-1:0]  v;
    for (int i = 0; i < int'(WW); i += 32) r[i +: 32] = $urandom;
    v = r[WW-1:0];
    case (rnd(0, 5))
      0: v = '0;
      1: v = WW'(1) << rnd(0, WW - 1);
      2: v = '1;
      default: ;
    endcase
    return v;
  endfunction

  // a read issued in this cycle
  task automatic read_at(input bit hf, input bit tg, input int y, input int x);
    logic [9*WW-1:0] e;
    e = '0;
    if (BANKED != 0) begin
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
          e[(ky*3 + kx)*WW +: WW] = model_word(hf, tg, y + ky - 1, x + kx - 1);
    end else begin
      e[4*WW +: WW] = model_word(hf, tg, y, x);
    end
    rd_valid = 1'b1;
    rd_half  = hf;
    rd_tag   = tg;
    rd_y     = YW'(y);
    rd_x     = XW'(x);
    rq_patch.push_back(e);
    rq_due.push_back(cycle + 1);
  endtask

  // a direct write issued in this cycle
  task automatic write_at(input bit hf, input bit tg, input int y, input int x,
                          input logic [WW-1:0] data, input bit orw);
    d_valid = 1'b1;
    d_half  = hf;
    d_tag   = tg;
    d_y     = YW'(y);
    d_x     = XW'(x);
    d_data  = data;
    d_or    = orw;
    nq_val.push_back(model_write(hf, tg, y, x, data, orw));
    nq_due.push_back(cycle + 4);
    n_writes++;
  endtask

  // an unpooled pixel into the writer in this cycle (k folded pools)
  task automatic pixel_at(input bit hf, input bit tg, input int y, input int x,
                          input logic [WW-1:0] data, input int k);
    int py, px;
    d_valid = 1'b1;
    d_half  = hf;
    d_tag   = tg;
    d_y     = YW'(y);
    d_x     = XW'(x);
    d_data  = data;
    d_or    = 1'bx;
    py = y >> k;
    px = x >> k;
    if (py < int'(out_h) && px < int'(out_w)) begin
      nq_val.push_back(model_write(hf, tg, py, px, data, k > 0));
      nq_due.push_back(cycle + 5);
      ref_img[hf][py * int'(MAX_W) + px] |= data;
      n_writes++;
    end
  endtask

  task automatic wr_idle();
    d_valid = 1'b0;
    d_y = 'x; d_x = 'x; d_data = 'x; d_or = 1'bx;
  endtask

  task automatic rd_idle();
    rd_valid = 1'b0;
    rd_y = 'x; rd_x = 'x;
  endtask

  task automatic next_cycle();
    @(posedge clk);
    #1;
    wr_idle();
    rd_idle();
  endtask

  // wait until every write has committed and every result was checked
  task automatic drain();
    repeat (8) next_cycle();
  endtask

  // overwrite every word of both halves (zeros, tag tg): the protocol's start
  task automatic init_halves(input bit tg);
    use_writer = 1'b0;
    h = YW'(MAX_H);
    w = XW'(MAX_W);
    for (int hf = 0; hf < 2; hf++)
      for (int y = 0; y < int'(MAX_H); y++)
        for (int x = 0; x < int'(MAX_W); x++) begin
          next_cycle();
          write_at(1'(hf), tg, y, x, '0, 1'b0);
        end
    drain();
  endtask

  // ---- random phase -------------------------------------------------------------------------
  task automatic random_round(input int r, inout bit prod);
    int  ncyc, hy, hx;
    bit  tag_fixed, tg;
    int  ly, lx;          // last write
    int  hot_y [4], hot_x [4];
    use_writer = 1'b0;
    use_ref    = 1'b0;
    case (r % 4)
      0: begin hy = MAX_H; hx = MAX_W; end
      1: begin hy = 1;     hx = 1;     end
      default: begin hy = rnd(1, MAX_H); hx = rnd(1, MAX_W); end
    endcase
    h = YW'(hy);
    w = XW'(hx);
    tag_fixed = (r % 3) != 2;
    tg = 1'($urandom);
    for (int i = 0; i < 4; i++) begin
      hot_y[i] = rnd(0, hy - 1);
      hot_x[i] = rnd(0, hx - 1);
    end
    ly = 0;
    lx = 0;
    ncyc = rnd(200, 600);
    for (int c = 0; c < ncyc; c++) begin
      next_cycle();
      if (rnd(0, 9) < 8) begin
        int y, x, m;
        m = rnd(0, 9);
        if (m < 4) begin            // the same word again, back to back
          y = ly; x = lx;
        end else if (m < 6) begin   // a hot word
          int i;
          i = rnd(0, 3);
          y = hot_y[i]; x = hot_x[i];
        end else begin
          y = rnd(0, hy - 1); x = rnd(0, hx - 1);
        end
        ly = y;
        lx = x;
        write_at(prod, tag_fixed ? tg : 1'($urandom), y, x, rnd_word(), rnd(0, 2) != 0);
      end
      if (rnd(0, 9) < 8)
        read_at(!prod, 1'($urandom), rnd(0, hy), rnd(0, hx));
    end
    // swap halves with the minimum gap: the last write was issued in this
    // cycle; the new consumer may read its half from the 3rd cycle on
    next_cycle();
    next_cycle();
    prod = !prod;
  endtask

  // ---- image phase ---------------------------------------------------------------------------
  // image i goes to half i % 2 with that half's next tag, through the writer
  // with k pools; image i - 1 is read in the other half at the same time.
  task automatic image_sequence(input int uh, input int uw, input int k, input int nimg);
    bit   use_tag [2];
    int   expect_bits;
    init_halves(1'b0);
    use_tag[0] = 1'b0;
    use_tag[1] = 1'b0;
    use_writer = 1'b1;
    use_ref    = 1'b1;
    pools = 2'(k);
    h     = YW'(uh >> k);
    w     = XW'(uw >> k);
    out_h = YW'(uh >> k);
    out_w = XW'(uw >> k);
    ref_tag[0] = 1'b0;
    ref_tag[1] = 1'b0;
    for (int i = 0; i < NK; i++) begin
      ref_img[0][i] = '0;
      ref_img[1][i] = '0;
    end
    for (int img = 0; img <= nimg; img++) begin
      bit ph, ch, ctg;
      ph = 1'(img % 2);
      ch = !ph;
      ctg = ref_tag[ch];
      // the producer's half: next tag, the reference starts empty
      use_tag[ph] = !use_tag[ph];
      ref_tag[ph] = use_tag[ph];
      for (int i = 0; i < NK; i++) ref_img[ph][i] = '0;
      nb_sum = 0;
      fork
        begin : producer
          int density;
          density = (img % 3 == 0) ? 100 : rnd(30, 100);
          if (img < nimg)
            for (int y = 0; y < uh; y++)
              for (int x = 0; x < uw; x++) begin
                while (rnd(1, 100) > density) begin
                  @(posedge clk);
                  #1;
                end
                pixel_at(ph, use_tag[ph], y, x, rnd_word(), k);
                @(posedge clk);
                #1 wr_idle();
              end
        end
        begin : consumer
          if (img > 0) begin
            // every position, one row and one column outside included
            for (int y = 0; y <= int'(h); y++)
              for (int x = 0; x <= int'(w); x++) begin
                read_at(ch, ctg, y, x);
                @(posedge clk);
                #1 rd_idle();
              end
            // with the other tag: zero everywhere
            for (int n = 0; n < 8; n++) begin
              read_at(ch, !ctg, rnd(0, int'(h) - 1), rnd(0, int'(w) - 1));
              @(posedge clk);
              #1 rd_idle();
            end
          end
        end
      join
      drain();
      if (img < nimg) begin
        expect_bits = 0;
        for (int i = 0; i < NK; i++) expect_bits += $countones(ref_img[ph][i]);
        if (nb_sum != expect_bits) begin
          errors++;
          $display("FAIL %s: image %0d (%0dx%0d, k %0d): %0d new bits, pooled map holds %0d",
                   NAME, img, uh, uw, k, nb_sum, expect_bits);
        end
      end
    end
    use_ref = 1'b0;
  endtask

  initial begin
    bit prod;
    done = 1'b0;
    n_reads = 0;
    n_writes = 0;
    n_newbits = 0;
    use_writer = 1'b0;
    use_ref = 1'b0;
    pools = '0;
    d_half = 1'b0;
    d_tag = 1'b0;
    rd_half = 1'b1;
    rd_tag = 1'b0;
    out_h = '0;
    out_w = '0;
    h = YW'(MAX_H);
    w = XW'(MAX_W);
    wr_idle();
    rd_idle();
    for (int i = 0; i < NK; i++) begin
      m_word[0][i] = '0; m_word[1][i] = '0;
      m_tag[0][i] = 1'b0; m_tag[1][i] = 1'b0;
    end
    @(posedge rst_n);
    next_cycle();
    init_halves(1'b0);
    prod = 1'b0;
    for (int r = 0; r < int'(ROUNDS); r++) random_round(r, prod);
    drain();
    // images: the maximum size, odd sizes, 1x1, 2x2, random; k = 0, 1, 2
    for (int k = 0; k <= 2; k++) begin
      image_sequence(MAX_H, MAX_W, k, IMAGES);
      image_sequence(MAX_H - ((MAX_H % 2) ^ 1), MAX_W - ((MAX_W % 2) ^ 1), k, 4);  // odd
      if (k == 0) image_sequence(1, 1, k, 4);
      image_sequence((2 << k) < MAX_H ? (2 << k) : MAX_H, (2 << k) < MAX_W ? (2 << k) : MAX_W, k, 3);
      image_sequence(rnd(1 << k, MAX_H), rnd(1 << k, MAX_W), k, 4);
    end
    drain();
    if (rq_due.size() != 0 || nq_due.size() != 0) begin
      errors++;
      $display("FAIL %s: %0d reads, %0d new-bit counts missing", NAME, rq_due.size(), nq_due.size());
    end
    if (errors != 0) $fatal(1, "tb_spike_map: %s: %0d errors", NAME, errors);
    done = 1'b1;
  end
endmodule

module tb_spike_map;
  logic clk = 1'b0, rst_n = 1'b0;
  always #5 clk = ~clk;

  localparam int NCFG = 3;
  logic done [NCFG];
  int   nr [NCFG], nw [NCFG], nn [NCFG];

  spike_map_check #(.COUT(4),  .TM(3), .MAX_H(9),  .MAX_W(7),  .BANKED(1), .NAME("banked9x7"))
    u_c0 (.clk, .rst_n, .done(done[0]), .n_reads(nr[0]), .n_writes(nw[0]), .n_newbits(nn[0]));
  spike_map_check #(.COUT(5),  .TM(2), .MAX_H(7),  .MAX_W(7),  .BANKED(0), .NAME("flat7x7"))
    u_c1 (.clk, .rst_n, .done(done[1]), .n_reads(nr[1]), .n_writes(nw[1]), .n_newbits(nn[1]));
  spike_map_check #(.COUT(32), .TM(4), .MAX_H(28), .MAX_W(28), .BANKED(1), .ROUNDS(6), .IMAGES(6),
                    .NAME("banked28x28"))
    u_c2 (.clk, .rst_n, .done(done[2]), .n_reads(nr[2]), .n_writes(nw[2]), .n_newbits(nn[2]));

  initial begin
    #500ms;
    $fatal(1, "tb_spike_map: timeout");
  end

  initial begin
    int r, wr, n;
    repeat (4) @(posedge clk);
    #1 rst_n = 1'b1;
    wait (done[0] && done[1] && done[2]);
    r = 0;
    wr = 0;
    n = 0;
    for (int i = 0; i < NCFG; i++) begin
      r += nr[i];
      wr += nw[i];
      n += nn[i];
    end
    if (wr != n) $fatal(1, "tb_spike_map: %0d writes, %0d new-bit counts", wr, n);
    $display("tb_spike_map: PASS (%0d patch/word reads, %0d writes incl. pooled and back-to-back, 3 configurations)",
             r, wr);
    $finish;
  end
endmodule
