//! `/metrics` in the Prometheus text format: requests by method and status class, and a latency
//! histogram. Counters are atomics; no locks on the request path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

const BUCKETS_MS: [u64; 8] = [1, 5, 10, 25, 50, 100, 250, 1000];
const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "OTHER"];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Default)]
pub struct Metrics {
    requests: [[AtomicU64; 5]; 5],
    buckets: [AtomicU64; 8],
    count: AtomicU64,
    sum_us: AtomicU64,
}

pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let method = METHODS
        .iter()
        .position(|m| *m == req.method().as_str())
        .unwrap_or(4);
    let start = Instant::now();
    let resp = next.run(req).await;
    let us = start.elapsed().as_micros() as u64;
    let class = (resp.status().as_u16() / 100).clamp(1, 5) as usize - 1;
    let m = &s.metrics;
    m.requests[method][class].fetch_add(1, Ordering::Relaxed);
    m.count.fetch_add(1, Ordering::Relaxed);
    m.sum_us.fetch_add(us, Ordering::Relaxed);
    for (i, b) in BUCKETS_MS.iter().enumerate() {
        if us <= b * 1000 {
            m.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }
    resp
}

pub async fn render(State(s): State<AppState>) -> impl IntoResponse {
    let m = &s.metrics;
    let mut out = String::from("# HELP waiver_http_requests_total HTTP requests by method and status class.\n# TYPE waiver_http_requests_total counter\n");
    for (i, method) in METHODS.iter().enumerate() {
        for (j, class) in CLASSES.iter().enumerate() {
            let v = m.requests[i][j].load(Ordering::Relaxed);
            if v > 0 {
                out += &format!(
                    "waiver_http_requests_total{{method=\"{method}\",status=\"{class}\"}} {v}\n"
                );
            }
        }
    }
    out += "# HELP waiver_http_request_duration_seconds HTTP request latency.\n# TYPE waiver_http_request_duration_seconds histogram\n";
    for (i, b) in BUCKETS_MS.iter().enumerate() {
        out += &format!(
            "waiver_http_request_duration_seconds_bucket{{le=\"{}\"}} {}\n",
            *b as f64 / 1000.0,
            m.buckets[i].load(Ordering::Relaxed)
        );
    }
    let count = m.count.load(Ordering::Relaxed);
    out += &format!("waiver_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n");
    out += &format!(
        "waiver_http_request_duration_seconds_sum {}\n",
        m.sum_us.load(Ordering::Relaxed) as f64 / 1e6
    );
    out += &format!("waiver_http_request_duration_seconds_count {count}\n");
    let b = s.store.batch_stats();
    out += &format!(
        "# HELP waiver_declaration_commits_total Transactions of the declaration group-commit writer.\n# TYPE waiver_declaration_commits_total counter\nwaiver_declaration_commits_total {}\n\
         # HELP waiver_declarations_batched_total Declarations those transactions carried.\n# TYPE waiver_declarations_batched_total counter\nwaiver_declarations_batched_total {}\n\
         # HELP waiver_declaration_batch_largest The most declarations one transaction carried.\n# TYPE waiver_declaration_batch_largest gauge\nwaiver_declaration_batch_largest {}\n\
         # HELP waiver_declaration_batch_fallbacks_total Batches retried one declaration at a time.\n# TYPE waiver_declaration_batch_fallbacks_total counter\nwaiver_declaration_batch_fallbacks_total {}\n",
        b.batches, b.declarations, b.largest, b.fallbacks
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
}
