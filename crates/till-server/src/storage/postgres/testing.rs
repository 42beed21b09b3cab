//! Test support: a PostgreSQL database to test against, each test in a schema of its own.

use std::str::FromStr;

use tokio_postgres::NoTls;

/// The variable naming the test database (`scripts/with-postgres.sh` sets it).
pub const URL_VAR: &str = "TILL_TEST_POSTGRES_URL";

/// `TILL_TEST_POSTGRES_URL`, or `None` after saying why the test is skipped. Under `CI=true`
/// a missing URL fails the test instead: CI must run the PostgreSQL tests.
pub fn database_url() -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{URL_VAR} is not set under CI=true: CI must run the PostgreSQL tests \
                 (run them through scripts/with-postgres.sh)"
            );
            eprintln!("skipped: {URL_VAR} not set (run through scripts/with-postgres.sh)");
            None
        }
    }
}

/// Creates an empty schema and answers a URL whose connections use it, so every test starts
/// from a fresh database of its own on one cluster.
pub async fn fresh_schema_url(url: &str) -> Result<String, tokio_postgres::Error> {
    let config = tokio_postgres::Config::from_str(url)?;
    let (client, connection) = config.connect(NoTls).await?;
    let task = tokio::spawn(connection);
    let schema = format!("till_test_{}", uuid::Uuid::now_v7().simple());
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await?;
    drop(client);
    let _ = task.await;
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{separator}options=-csearch_path%3D{schema}"))
}
