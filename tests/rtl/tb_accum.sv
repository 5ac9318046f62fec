// tb_accum - self-checking testbench of snn_accum, the lanes' weight read and
// accumulator read-modify-write. Operations arrive one per cycle with no gaps
// and hit a handful of addresses, so back-to-back and every-other-cycle hits
// on the same address (the forwarding paths A3 and A4) are frequent; values
// are pixels (0..255) and spikes (1), weights span -127..127, lane masks cut
// the last group. The accumulator bank is compared with a reference after
// each job; the end-of-job marker must arrive after every write.
// Exit status: 0 pass, non-zero fail.
`default_nettype none

module tb_accum;
  localparam int unsigned L   = 4;
  localparam int unsigned WAW = 6;
  localparam int unsigned XAW = 4;

  logic clk = 1'b0, rst_n = 1'b0;
  always #5 clk = ~clk;

  logic             op_valid = 1'b0, op_eoj = 1'b0;
  logic [WAW-1:0]   op_w = '0;
  logic [XAW-1:0]   op_a = '0;
  logic [7:0]       op_val = '0;
  logic [L-1:0]     op_mask = '0;
  logic             w_re, a_re, a_bank, a_we, done;
  logic [WAW-1:0]   w_addr;
  logic [XAW-1:0]   a_raddr, a_waddr;
  logic [L*8-1:0]   w_data;
  logic [L*32-1:0]  a_rdata, a_wdata;

  // weight RAM (written by the testbench) and one accumulator bank
  logic           tb_wwe = 1'b0;
  logic [WAW-1:0] tb_waddr = '0;
  logic [L*8-1:0] tb_wdata = '0;
  logic           tb_awe = 1'b0;
  logic [XAW-1:0] tb_aaddr = '0;
  logic           tb_are = 1'b0;

  snn_ram #(.WIDTH(L * 8), .DEPTH(1 << WAW)) u_w (
    .clk_i (clk), .we_i (tb_wwe), .waddr_i (tb_waddr), .wdata_i (tb_wdata),
    .re_i (w_re), .raddr_i (w_addr), .rdata_o (w_data)
  );
  snn_ram #(.WIDTH(L * 32), .DEPTH(1 << XAW)) u_acc (
    .clk_i (clk), .we_i (a_we || tb_awe), .waddr_i (tb_awe ? tb_aaddr : a_waddr),
    .wdata_i (tb_awe ? '0 : a_wdata), .re_i (a_re || tb_are), .raddr_i (tb_are ? tb_aaddr : a_raddr),
    .rdata_o (a_rdata)
  );

  snn_accum #(.LANES(L), .WAW(WAW), .XAW(XAW)) dut (
    .clk_i (clk), .rst_ni (rst_n), .bank_i (1'b0),
    .op_valid_i (op_valid), .op_eoj_i (op_eoj), .op_w_i (op_w), .op_a_i (op_a),
    .op_val_i (op_val), .op_mask_i (op_mask),
    .w_re_o (w_re), .w_addr_o (w_addr), .w_data_i (w_data),
    .a_re_o (a_re), .a_bank_o (a_bank), .a_raddr_o (a_raddr), .a_rdata_i (a_rdata),
    .a_we_o (a_we), .a_waddr_o (a_waddr), .a_wdata_o (a_wdata), .done_o (done)
  );

  int errors = 0, writes_after_done = 0, dones = 0;

  // a hang is a failure
  initial begin
    #10ms;
    $fatal(1, "tb_accum: timeout");
  end
  logic signed [7:0] wmem [1 << WAW][L];
  int ref_acc [1 << XAW][L];
  bit job_over = 1'b0;

  always @(posedge clk) begin
    if (done) begin
      dones++;
      job_over <= 1'b1;
    end
    if (job_over && a_we) writes_after_done++;
  end

  initial begin
    repeat (2) @(posedge clk);
    #1 rst_n = 1'b1;
    // weights: random int8 in -127..127, plus +-127 rows
    for (int r = 0; r < (1 << WAW); r++) begin
      for (int j = 0; j < L; j++) begin
        int v;
        v = (r < 2) ? ((r == 0) ? 127 : -127) : $urandom_range(0, 254) - 127;
        wmem[r][j] = 8'(v);
        tb_wdata[j*8 +: 8] = 8'(v);
      end
      tb_waddr = WAW'(r);
      tb_wwe = 1'b1;
      @(posedge clk);
      #1 tb_wwe = 1'b0;
    end
    for (int job = 0; job < 40; job++) begin
      int n_addr;
      // zero the bank and the model
      for (int a = 0; a < (1 << XAW); a++) begin
        tb_aaddr = XAW'(a);
        tb_awe = 1'b1;
        @(posedge clk);
        #1 tb_awe = 1'b0;
        for (int j = 0; j < L; j++) ref_acc[a][j] = 0;
      end
      job_over = 1'b0;
      n_addr = (job < 10) ? 1 : (job < 20) ? 2 : (job < 30) ? 3 : (1 << XAW);
      // a job: 500 operations, one per cycle, no gaps
      for (int n = 0; n < 500; n++) begin
        int a, r, val;
        logic [L-1:0] m;
        a   = $urandom_range(0, n_addr - 1);
        r   = $urandom_range(0, (1 << WAW) - 1);
        val = ($urandom_range(0, 1) == 1) ? 1 : $urandom_range(0, 255);
        m   = ($urandom_range(0, 3) == 0) ? L'((1 << $urandom_range(1, L)) - 1) : '1;
        op_valid = 1'b1; op_eoj = 1'b0; op_w = WAW'(r); op_a = XAW'(a); op_val = 8'(val); op_mask = m;
        for (int j = 0; j < L; j++) if (m[j]) ref_acc[a][j] += int'(wmem[r][j]) * val;
        @(posedge clk);
        #1;
      end
      op_valid = 1'b1; op_eoj = 1'b1; op_mask = '0;
      @(posedge clk);
      #1 op_valid = 1'b0; op_eoj = 1'b0;
      while (!job_over) @(posedge clk);
      #1;
      // read the bank back
      for (int a = 0; a < (1 << XAW); a++) begin
        tb_aaddr = XAW'(a);
        tb_are = 1'b1;
        @(posedge clk);
        #1 tb_are = 1'b0;
        for (int j = 0; j < L; j++) begin
          if ($signed(a_rdata[j*32 +: 32]) != ref_acc[a][j]) begin
            errors++;
            if (errors < 10)
              $display("FAIL job %0d address %0d lane %0d: %0d, expected %0d", job, a, j,
                       $signed(a_rdata[j*32 +: 32]), ref_acc[a][j]);
          end
        end
      end
    end
    if (writes_after_done != 0) begin
      errors++;
      $display("FAIL: %0d accumulator writes after the end-of-job marker", writes_after_done);
    end
    if (dones != 40) begin
      errors++;
      $display("FAIL: %0d end-of-job pulses for 40 jobs", dones);
    end
    if (errors != 0) $fatal(1, "tb_accum: %0d checks failed", errors);
    $display("tb_accum: PASS (40 jobs x 500 operations, 1 to 16 addresses)");
    $finish;
  end

  logic unused_tb;
  assign unused_tb = a_bank;
endmodule
