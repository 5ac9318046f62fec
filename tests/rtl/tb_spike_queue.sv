// tb_spike_queue - self-checking testbench of snn_fifo as the kernel's spike
// queue (events between the scanner and the expander): empty and full flags
// exact at every fill level, no push when full and no pop when empty, order
// kept, clear, and a long run with random valid/ready back-pressure on both
// sides against a reference queue. Exit status: 0 pass, non-zero fail.
`default_nettype none

module tb_spike_queue;
  localparam int unsigned W = 24;   // a spike address
  localparam int unsigned D = 8;

  logic         clk = 1'b0, rst_n = 1'b0, clear = 1'b0;
  logic         in_valid = 1'b0, out_ready = 1'b0;
  logic [W-1:0] in_data = '0;
  logic         in_ready, out_valid;
  logic [W-1:0] out_data;
  logic [$clog2(D):0] count;

  always #5 clk = ~clk;

  snn_fifo #(.WIDTH(W), .DEPTH(D)) dut (
    .clk_i (clk), .rst_ni (rst_n), .clear_i (clear),
    .in_valid_i (in_valid), .in_ready_o (in_ready), .in_data_i (in_data),
    .out_valid_o (out_valid), .out_ready_i (out_ready), .out_data_o (out_data),
    .count_o (count)
  );

  int errors = 0;

  // a hang is a failure
  initial begin
    #10ms;
    $fatal(1, "tb_spike_queue: timeout");
  end
  logic [W-1:0] ref_q[$];

  task automatic check(input bit cond, input string what);
    if (!cond) begin
      errors++;
      $display("FAIL at %0t: %s (count %0d, in_ready %0d, out_valid %0d)", $time, what, count,
               in_ready, out_valid);
    end
  endtask

  // one clock with the given handshake requests; the scoreboard follows the handshakes
  task automatic cycle(input bit push, input logic [W-1:0] d, input bit pop);
    bit pushed, popped;
    in_valid  = push;
    in_data   = d;
    out_ready = pop;
    #1;
    pushed = push && in_ready;
    popped = pop && out_valid;
    check(in_ready == (ref_q.size() < D), "in_ready is not 'not full'");
    check(out_valid == (ref_q.size() > 0), "out_valid is not 'not empty'");
    if (popped) begin
      check(out_data == ref_q[0], $sformatf("order: got %0h, expected %0h", out_data, ref_q[0]));
      void'(ref_q.pop_front());
    end
    if (pushed) ref_q.push_back(d);
    @(posedge clk);
    #1;
    check(count == ($clog2(D)+1)'(ref_q.size()), "count");
  endtask

  initial begin
    repeat (2) @(posedge clk);
    #1 rst_n = 1'b1;
    #1;
    check(out_valid == 1'b0 && in_ready == 1'b1 && count == 0, "empty after reset");
    // pop from empty: nothing happens
    cycle(1'b0, '0, 1'b1);
    // fill to full, one more push is refused
    for (int i = 0; i < D; i++) cycle(1'b1, W'(100 + i), 1'b0);
    check(!in_ready && out_valid && count == D, "full");
    cycle(1'b1, W'(999), 1'b0);
    check(ref_q.size() == D, "push into a full queue was taken");
    // full: a pop and a refused push in the same cycle
    cycle(1'b1, W'(998), 1'b1);
    // drain in order
    while (ref_q.size() > 0) cycle(1'b0, '0, 1'b1);
    check(!out_valid && in_ready && count == 0, "empty after draining");
    // simultaneous push and pop on a queue of one entry keeps its level
    cycle(1'b1, W'(7), 1'b0);
    for (int i = 0; i < 20; i++) cycle(1'b1, W'(200 + i), 1'b1);
    check(count == 1, "level kept by push+pop");
    // clear drops everything
    cycle(1'b1, W'(5), 1'b0);
    clear = 1'b1;
    @(posedge clk);
    #1 clear = 1'b0;
    ref_q.delete();
    check(count == 0 && !out_valid, "clear");
    // random back-pressure on both sides
    for (int i = 0; i < 20000; i++)
      cycle($urandom_range(0, 99) < 60, W'($urandom), $urandom_range(0, 99) < 55);
    while (ref_q.size() > 0) cycle(1'b0, '0, 1'b1);
    if (errors != 0) $fatal(1, "tb_spike_queue: %0d checks failed", errors);
    $display("tb_spike_queue: PASS");
    $finish;
  end
endmodule
