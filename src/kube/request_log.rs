//! Every Kubernetes request at DEBUG — method, path, status and duration, like the
//! OpenStack client's — as a tower layer under kube-rs's client (below its retries, so each
//! attempt shows). Only the request line is logged: bodies and headers carry tokens and
//! kubeconfig material.

use std::task::{Context, Poll};
use std::time::Instant;

use futures_util::future::BoxFuture;
use tower::{Layer, Service};

/// Which cluster a client talks to (`management` or `hosted`), named in every line.
#[derive(Debug, Clone, Copy)]
pub struct RequestLogLayer {
    pub cluster: &'static str,
}

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog {
            inner,
            cluster: self.cluster,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RequestLog<S> {
    inner: S,
    cluster: &'static str,
}

impl<S, B, RB> Service<http::Request<B>> for RequestLog<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = req.method().clone();
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().trim_end_matches('?').to_string())
            .unwrap_or_default();
        let cluster = self.cluster;
        let started = Instant::now();
        let response = self.inner.call(req);
        Box::pin(async move {
            let result = response.await;
            let duration_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(r) => tracing::debug!(
                    cluster,
                    method = %method,
                    path = %path,
                    status = r.status().as_u16(),
                    duration_ms,
                    "Kubernetes request"
                ),
                Err(e) => tracing::debug!(
                    cluster,
                    method = %method,
                    path = %path,
                    error = %e,
                    duration_ms,
                    "Kubernetes request failed"
                ),
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    #[tokio::test]
    async fn passes_requests_and_responses_through() {
        let inner = tower::service_fn(|req: http::Request<()>| async move {
            assert_eq!(req.uri().path(), "/api/v1/nodes");
            Ok::<_, Infallible>(http::Response::builder().status(404).body(()).unwrap())
        });
        let mut svc = RequestLogLayer { cluster: "hosted" }.layer(inner);
        let req = http::Request::get("/api/v1/nodes?limit=500")
            .body(())
            .unwrap();
        let resp = svc.call(req).await.unwrap();
        assert_eq!(resp.status(), 404);
    }
}
