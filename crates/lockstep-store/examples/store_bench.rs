//! Runs the store's benchmarks on a temporary SQLite file and prints the figures:
//! `cargo run --release -p lockstep-store --example store_bench -- [APPEND_EVENTS] [LOG_EVENTS]`.
//!
//! A developer's tool; `lockstep bench` is the user-facing one. It does not touch
//! PostgreSQL unless `LOCKSTEP_BENCH_POSTGRES_URL` names an empty database.

use lockstep_store::bench;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n_append: u64 = args.next().map_or(Ok(2_000), |arg| arg.parse())?;
    let n_log: u64 = args.next().map_or(Ok(1_000_000), |arg| arg.parse())?;
    let dir = std::env::temp_dir().join(format!("lockstep-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let url = format!("sqlite://{}", dir.join("append.db").display());
    let append = bench::append_throughput(&url, n_append, 1).await?;
    println!(
        "append (batch 1, durable, {} events): store {:.0} ev/s, plain sqlite {:.0} ev/s, ratio {:.2}",
        append.n_events,
        append.events_per_sec_store,
        append.events_per_sec_plain_sqlite,
        append.ratio
    );

    let url = format!("sqlite://{}", dir.join("startup.db").display());
    let startup = bench::startup(&url, n_log).await?;
    println!("sqlite {startup:#?}");

    if let Ok(pg_url) = std::env::var("LOCKSTEP_BENCH_POSTGRES_URL") {
        let startup = bench::startup(&pg_url, n_log).await?;
        println!("postgresql {startup:#?}");
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
