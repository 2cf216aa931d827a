//! A quick random walk over the core's fuzz entry point (the corpus replay covers the seeds).

#[test]
fn random_operation_sequences_keep_the_echo_exact() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..300 {
        let len = (seed % 400) as usize;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 24) as u8
            })
            .collect();
        netreactor::testing::fuzz::echo_ops(&data);
    }
}
