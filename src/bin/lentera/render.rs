//! `lentera render map|profile`: the static map of `/api/map.png` and the profile of
//! `/api/profile/{kode}.pdf`, made by the server's own handlers in this process, so that the
//! file is the API's answer byte for byte.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use crate::args::{RenderCommand, RenderMapArgs};
use lentera::server::{router_with, Live, ServerOptions};
use lentera::store::Store;

/// Runs a `render` command.
pub async fn run(store: Arc<dyn Store>, cmd: RenderCommand) -> Result<()> {
    match cmd {
        RenderCommand::Map(args) => map(store, *args).await,
        RenderCommand::Profile { kode, output } => {
            let path: String = form_urlencoded::byte_serialize(kode.as_bytes()).collect();
            let body = ask(store, &format!("/api/profile/{path}.pdf")).await?;
            write(&output, &body)
        }
    }
}

/// The body of `GET uri` from the server's own handlers in this process (as an anonymous
/// reader: aggregates with small units hidden), or the server's error in words.
async fn ask(store: Arc<dyn Store>, uri: &str) -> Result<axum::body::Bytes> {
    let live = Live::load(store).await?;
    let app = router_with(live, ServerOptions::default());
    let request = Request::get(uri)
        .body(Body::empty())
        .context("building the request")?;
    let response = app.oneshot(request).await.context("drawing")?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .context("reading the answer")?;
    if status != StatusCode::OK {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        bail!("{message}");
    }
    Ok(body)
}

fn write(output: &std::path::Path, body: &[u8]) -> Result<()> {
    std::fs::write(output, body).with_context(|| format!("writing {}", output.display()))?;
    println!(
        "Wrote {} ({} KB).",
        output.display(),
        body.len().div_ceil(1024)
    );
    Ok(())
}

async fn map(store: Arc<dyn Store>, args: RenderMapArgs) -> Result<()> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (k, v) in [
        ("level", &args.level),
        ("parent", &args.parent),
        ("indicator", &args.indicator),
        ("period", &args.period),
        ("base", &args.base),
        ("method", &args.method),
        ("breaks", &args.breaks),
        ("classes", &args.classes),
        ("palette", &args.palette),
        ("width", &args.width),
        ("height", &args.height),
        ("scale", &args.scale),
        ("title", &args.title),
        ("labels", &args.labels),
    ] {
        if let Some(v) = v {
            query.append_pair(k, v);
        }
    }
    let body = ask(store, &format!("/api/map.png?{}", query.finish())).await?;
    write(&args.output, &body)
}
