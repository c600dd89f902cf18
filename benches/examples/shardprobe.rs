use std::hash::{BuildHasher, RandomState};
use std::time::Instant;
use syncmap_epoch::SyncMap;

fn run(shards: usize, threads: usize, n: u64) -> f64 {
    let s = RandomState::new();
    let maps: Vec<SyncMap<u64, u64>> = (0..shards).map(|_| SyncMap::new()).collect();
    let start = Instant::now();
    std::thread::scope(|sc| {
        for t in 0..threads as u64 {
            let maps = &maps;
            let s = &s;
            sc.spawn(move || {
                for i in 0..n {
                    let k = i * threads as u64 + t;
                    let h = s.hash_one(k) as usize;
                    let m = &maps[(h >> 40) % shards];
                    m.load_or_store(k, k);
                }
            });
        }
    });
    start.elapsed().as_nanos() as f64 / (n * threads as u64) as f64
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().unwrap())
        .unwrap_or(500_000);
    for threads in [1, 2] {
        for shards in [1, 4, 16, 64] {
            let mut v: Vec<f64> = (0..5).map(|_| run(shards, threads, n)).collect();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!(
                "threads {threads} shards {shards}: median {:.1} ns/op  {:?}",
                v[2],
                v.iter().map(|x| (*x as u32)).collect::<Vec<_>>()
            );
        }
    }
}
