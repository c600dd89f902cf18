//! Writes the benchmark report (to come).

fn main() {}
