//! PostgreSQL over TLS, against the test cluster switched to `ssl=on` with a certificate made
//! here: `require` connects; `verify-full` connects with the right CA and host, and is refused
//! with a clear error for another host name or another CA; `verify-ca` ignores the host name.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use till_server::storage::postgres::{testing, PostgresStorage};
use till_server::storage::Storage;
use tokio_postgres::NoTls;

/// A CA's certificate (PEM) and what it needs to sign.
struct Ca {
    pem: String,
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn new_ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("a key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("self-signed");
    Ca {
        pem: cert.pem(),
        cert,
        key,
    }
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connects");
    tokio::spawn(connection);
    client
}

/// Writes `contents` where the database server's user may read it and nobody else.
fn write_for_server(path: &Path, contents: &str, owner: (u32, u32)) {
    std::fs::write(path, contents).expect("writes");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::os::unix::fs::chown(path, Some(owner.0), Some(owner.1)).expect("chown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_connect_and_refuse_as_libpq_does() {
    let Some(base) = testing::database_url() else {
        return;
    };
    let client = admin(&base).await;
    let data_dir: String = client
        .query_one("SHOW data_directory", &[])
        .await
        .expect("a superuser")
        .get(0);
    let Ok(meta) = std::fs::metadata(&data_dir) else {
        eprintln!("skipped: the test cluster's data directory is not on this machine");
        return;
    };
    let owner = (meta.uid(), meta.gid());

    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let ca = new_ca("Till test CA");
    let server_key = KeyPair::generate().expect("a key");
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .expect("params")
        .signed_by(&server_key, &ca.cert, &ca.key)
        .expect("signed");
    let (cert_path, key_path) = (dir.path().join("server.crt"), dir.path().join("server.key"));
    write_for_server(&cert_path, &server_cert.pem(), owner);
    write_for_server(&key_path, &server_key.serialize_pem(), owner);
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &ca.pem).expect("writes");
    let other_ca_path = dir.path().join("other-ca.pem");
    std::fs::write(&other_ca_path, new_ca("Someone else").pem).expect("writes");

    for statement in [
        format!("ALTER SYSTEM SET ssl_cert_file = '{}'", cert_path.display()),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", key_path.display()),
        "ALTER SYSTEM SET ssl = on".to_string(),
        "SELECT pg_reload_conf()".to_string(),
    ] {
        client
            .batch_execute(&statement)
            .await
            .expect("configures TLS");
    }
    let url = testing::fresh_schema_url(&base).await.expect("a schema");
    let with = |host: &str, params: &str| {
        format!(
            "{}&{params}",
            url.replacen("@127.0.0.1:", &format!("@{host}:"), 1)
        )
    };
    let ca_file = format!("sslrootcert={}", ca_path.display());
    let mut required = Err(till_server::storage::StorageError::Busy);
    for _ in 0..50 {
        required = PostgresStorage::connect(&with("127.0.0.1", "sslmode=require")).await;
        if required.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let outcome = async {
        let storage = required.map_err(|e| format!("sslmode=require must connect: {e}"))?;
        storage.list_terminals().await.map_err(|e| e.to_string())?;

        let full = with("localhost", &format!("sslmode=verify-full&{ca_file}"));
        PostgresStorage::connect(&full)
            .await
            .map_err(|e| format!("verify-full with the right CA and host must connect: {e}"))?;
        let chain_only = with("127.0.0.1", &format!("sslmode=verify-ca&{ca_file}"));
        PostgresStorage::connect(&chain_only)
            .await
            .map_err(|e| format!("verify-ca ignores the host name: {e}"))?;

        let wrong_host = with("127.0.0.1", &format!("sslmode=verify-full&{ca_file}"));
        let err = PostgresStorage::connect(&wrong_host)
            .await
            .err()
            .ok_or("verify-full must refuse a certificate for another host")?
            .to_string();
        if !err.to_lowercase().contains("name") {
            return Err(format!("the error must say the name is wrong: {err}"));
        }
        let other_ca = format!(
            "sslmode=verify-full&sslrootcert={}",
            other_ca_path.display()
        );
        let err = PostgresStorage::connect(&with("localhost", &other_ca))
            .await
            .err()
            .ok_or("verify-full must refuse a certificate of another CA")?
            .to_string();
        if !err.to_lowercase().contains("issuer") {
            return Err(format!("the error must say the issuer is unknown: {err}"));
        }
        Ok::<(), String>(())
    }
    .await;
    for statement in [
        "ALTER SYSTEM RESET ssl",
        "ALTER SYSTEM RESET ssl_cert_file",
        "ALTER SYSTEM RESET ssl_key_file",
        "SELECT pg_reload_conf()",
    ] {
        client.batch_execute(statement).await.expect("restores");
    }
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
