// tb_ctrl - self-checking testbench of snn_ctrl, the AXI4-Lite slave with
// the ap_ctrl_hs register map (docs/register-map.md): register read/write
// with byte strobes, address and data channels in either order, the
// ap_start / ap_done / ap_idle / ap_ready handshake (ap_done and ap_ready
// clear on read), auto_restart, interrupt enables and the toggle-on-write
// ISR. Exit status: 0 pass, non-zero fail.
`default_nettype none

module tb_ctrl;
  logic        clk = 1'b0, rst_n = 1'b0;
  logic        awvalid = 1'b0, wvalid = 1'b0, bready = 1'b0, arvalid = 1'b0, rready = 1'b0;
  logic [6:0]  awaddr = '0, araddr = '0;
  logic [31:0] wdata = '0;
  logic [3:0]  wstrb = '0;
  logic        awready, wready, bvalid, arready, rvalid;
  logic [1:0]  bresp, rresp;
  logic [31:0] rdata;
  logic        start, done = 1'b0, irq;
  logic [63:0] model, images, results, trace;
  logic [31:0] n_images;
  logic [31:0] flags;

  always #5 clk = ~clk;

  snn_ctrl #(.ADDR_W(7)) dut (
    .clk_i (clk), .rst_ni (rst_n),
    .awvalid_i (awvalid), .awready_o (awready), .awaddr_i (awaddr),
    .wvalid_i (wvalid), .wready_o (wready), .wdata_i (wdata), .wstrb_i (wstrb),
    .bvalid_o (bvalid), .bready_i (bready), .bresp_o (bresp),
    .arvalid_i (arvalid), .arready_o (arready), .araddr_i (araddr),
    .rvalid_o (rvalid), .rready_i (rready), .rdata_o (rdata), .rresp_o (rresp),
    .start_o (start), .done_i (done),
    .model_o (model), .images_o (images), .results_o (results), .trace_o (trace),
    .n_images_o (n_images), .flags_o (flags), .interrupt_o (irq)
  );

  int errors = 0;
  int starts = 0;

  // a hang is a failure
  initial begin
    #1ms;
    $fatal(1, "tb_ctrl: timeout");
  end
  always @(posedge clk) if (start) starts++;

  task automatic expect_eq(input logic [63:0] got, input logic [63:0] exp, input string what);
    if (got !== exp) begin
      errors++;
      $display("FAIL %s: got %0h, expected %0h", what, got, exp);
    end
  endtask

  // Every task runs from "just after a clock edge": a handshake is sampled
  // before the next edge (valid and ready both high), then the edge is taken.
  // order: 0 address and data together, 1 address first, 2 data first
  task automatic send_aw(input logic [6:0] a);
    bit h;
    #1 awvalid = 1'b1; awaddr = a;
    do begin
      #1 h = awready;
      @(posedge clk);
      #1;
    end while (!h);
    awvalid = 1'b0;
  endtask

  task automatic send_w(input logic [31:0] d, input logic [3:0] s);
    bit h;
    #1 wvalid = 1'b1; wdata = d; wstrb = s;
    do begin
      #1 h = wready;
      @(posedge clk);
      #1;
    end while (!h);
    wvalid = 1'b0;
  endtask

  task automatic wr(input logic [6:0] a, input logic [31:0] d, input logic [3:0] s = 4'hF,
                    input int order = 0);
    bit ha, hw, hb;
    int guard;
    if (order == 1) begin
      send_aw(a);
      repeat (3) @(posedge clk);
      #1 send_w(d, s);
    end else if (order == 2) begin
      send_w(d, s);
      repeat (2) @(posedge clk);
      #1 send_aw(a);
    end else begin
      #1 awvalid = 1'b1; awaddr = a; wvalid = 1'b1; wdata = d; wstrb = s;
      while (awvalid || wvalid) begin
        #1;
        ha = awvalid && awready;
        hw = wvalid && wready;
        @(posedge clk);
        #1;
        if (ha) awvalid = 1'b0;
        if (hw) wvalid = 1'b0;
      end
    end
    bready = 1'b1;
    guard = 0;
    do begin
      #1 hb = bvalid;
      if (hb) expect_eq(64'(bresp), 64'd0, "bresp");
      @(posedge clk);
      #1;
      guard++;
    end while (!hb && guard < 100);
    if (!hb) begin errors++; $display("FAIL no write response at %0h", a); end
    bready = 1'b0;
  endtask

  task automatic rd(input logic [6:0] a, output logic [31:0] d);
    bit h;
    #1 arvalid = 1'b1; araddr = a;
    do begin
      #1 h = arready;
      @(posedge clk);
      #1;
    end while (!h);
    arvalid = 1'b0; rready = 1'b1;
    do begin
      #1 h = rvalid;
      d = rdata;
      if (h) expect_eq(64'(rresp), 64'd0, "rresp");
      @(posedge clk);
      #1;
    end while (!h);
    rready = 1'b0;
  endtask

  task automatic pulse_done();
    #1 done = 1'b1;
    @(posedge clk);
    #1 done = 1'b0;
  endtask

  initial begin
    logic [31:0] d;
    repeat (3) @(posedge clk);
    #1 rst_n = 1'b1;
    @(posedge clk);
    #1;
    // reset state: idle, nothing else
    rd(7'h00, d); expect_eq(d, 32'h4, "ctrl after reset (ap_idle)");
    expect_eq(64'(irq), 0, "interrupt after reset");
    // arguments, 64-bit pointers as two words, in every channel order
    wr(7'h10, 32'h1111_0000, 4'hF, 0);
    wr(7'h14, 32'h0000_0004, 4'hF, 1);
    wr(7'h1C, 32'h2222_0040, 4'hF, 2);
    wr(7'h20, 32'h0000_0005);
    wr(7'h28, 32'h3333_0080);
    wr(7'h2C, 32'h0000_0006);
    wr(7'h34, 32'h0);
    wr(7'h38, 32'h0);
    wr(7'h40, 32'd256);
    expect_eq(model, 64'h4_1111_0000, "model");
    expect_eq(images, 64'h5_2222_0040, "images");
    expect_eq(results, 64'h6_3333_0080, "results");
    expect_eq(trace, 64'h0, "trace");
    expect_eq(64'(n_images), 64'd256, "n_images");
    rd(7'h10, d); expect_eq(d, 32'h1111_0000, "read model lo");
    rd(7'h14, d); expect_eq(d, 32'h4, "read model hi");
    rd(7'h40, d); expect_eq(d, 32'd256, "read n_images");
    // byte strobes
    wr(7'h40, 32'hAABB_CCDD, 4'b0101);
    rd(7'h40, d); expect_eq(d, 32'h00BB_01DD, "n_images after strobed write");
    wr(7'h40, 32'd3);
    // flags (0x48): bit 0 asks the layer-pipeline kernel to reload the model
    rd(7'h48, d); expect_eq(d, 32'd0, "flags after reset");
    wr(7'h48, 32'h1);
    rd(7'h48, d); expect_eq(d, 32'h1, "read flags");
    expect_eq(64'(flags), 64'h1, "flags output");
    wr(7'h48, 32'h0);
    // unmapped offsets read 0 and ignore writes
    wr(7'h18, 32'hFFFF_FFFF);
    rd(7'h18, d); expect_eq(d, 32'h0, "reserved 0x18");
    // ap_start: one start pulse, busy until done
    starts = 0;
    wr(7'h00, 32'h1);
    rd(7'h00, d); expect_eq(d & 32'hF, 32'h1, "running: ap_start, not idle");
    expect_eq(64'(starts), 64'd1, "one start pulse");
    repeat (5) @(posedge clk);
    #1 expect_eq(64'(starts), 64'd1, "still one start pulse");
    pulse_done();
    rd(7'h00, d); expect_eq(d & 32'hF, 32'hE, "after done: ap_done, ap_idle, ap_ready, no ap_start");
    rd(7'h00, d); expect_eq(d & 32'hF, 32'h4, "ap_done and ap_ready clear on read");
    // interrupts: ap_done enabled, global enable on
    wr(7'h04, 32'h1);
    wr(7'h08, 32'h1);
    rd(7'h08, d); expect_eq(d, 32'h1, "IER");
    wr(7'h00, 32'h1);
    pulse_done();
    #1 expect_eq(64'(irq), 1, "interrupt raised");
    rd(7'h0C, d); expect_eq(d, 32'h1, "ISR ap_done");
    rd(7'h00, d); expect_eq(d & 32'h20F, 32'h20E, "ctrl shows the interrupt");
    wr(7'h0C, 32'h1);
    rd(7'h0C, d); expect_eq(d, 32'h0, "ISR toggled to 0");
    #1 expect_eq(64'(irq), 0, "interrupt cleared");
    wr(7'h0C, 32'h1);
    rd(7'h0C, d); expect_eq(d, 32'h1, "ISR toggled to 1 by a write");
    wr(7'h0C, 32'h1);
    // ap_ready interrupt and the global enable
    wr(7'h08, 32'h2);
    wr(7'h04, 32'h0);
    wr(7'h00, 32'h1);
    pulse_done();
    rd(7'h0C, d); expect_eq(d, 32'h2, "ISR ap_ready only");
    #1 expect_eq(64'(irq), 0, "no interrupt without GIE");
    wr(7'h0C, 32'h2);
    rd(7'h00, d);
    // auto_restart: the kernel starts again after every run until cleared
    starts = 0;
    wr(7'h00, 32'h81);
    pulse_done();
    repeat (2) @(posedge clk);
    #1 expect_eq(64'(starts), 64'd2, "auto_restart restarted the kernel");
    rd(7'h00, d); expect_eq(d & 32'h8F, 32'h8B, "auto_restart: ap_start stays, running again");
    wr(7'h00, 32'h0);
    pulse_done();
    repeat (2) @(posedge clk);
    #1 expect_eq(64'(starts), 64'd2, "no restart once auto_restart is cleared");
    rd(7'h00, d); expect_eq(d & 32'h8F, 32'h0E, "stopped: done, idle, ready");
    if (errors != 0) $fatal(1, "tb_ctrl: %0d checks failed", errors);
    $display("tb_ctrl: PASS");
    $finish;
  end
endmodule
