//! The OpenAPI document is generated from the Rust types and describes every route.

mod common;

use common::*;
use reqwest::StatusCode;
use till_server::http::ROUTES;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_lists_every_route_the_server_answers() {
    let server = TestServer::start().await;
    let (status, doc) = server.get("/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    assert_eq!(
        paths.len(),
        ROUTES.len(),
        "no undocumented and no phantom routes: {:?}",
        paths.keys()
    );
    for (method, path) in ROUTES {
        let operation = &doc["paths"][path][method.to_lowercase()];
        assert!(operation.is_object(), "{method} {path} must be documented");
        // The route is real: it answers something other than 404 (or 405) on the live server.
        let url = format!(
            "{}{}",
            server.url,
            path.replace("{id}", "0190a0a0-0000-7000-8000-000000000000")
        );
        let response = server
            .http
            .request(method.parse().expect("method"), url)
            .send()
            .await
            .expect("answers");
        assert!(
            !matches!(
                response.status(),
                StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
            ),
            "{method} {path} must be served, got {}",
            response.status()
        );
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    for name in [
        "PushRequest",
        "PushResponse",
        "Outcome",
        "PullResponse",
        "ChangeKind",
        "Ack",
        "ApiError",
        "Ticket",
    ] {
        assert!(
            schemas.contains_key(name),
            "schema {name} must be in the document"
        );
    }
    assert!(
        doc["components"]["securitySchemes"]["bearer"].is_object(),
        "bearer auth is described"
    );
    server.stop().await;
}
