//! Serves Lantern's static files on 127.0.0.1. Pages are cross-origin isolated (COOP, COEP and
//! CORP on every response) because the threaded wasm build needs SharedArrayBuffer, and every
//! response carries the site's Content-Security-Policy. Documents send CORP `cross-origin`, as
//! every host config does, so an isolated page on another origin may frame Lantern.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use clap::Parser;
use serde::Deserialize;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Parser)]
#[command(about = "Serves static files on 127.0.0.1, cross-origin isolated so wasm threads work")]
struct Args {
    /// Directory served at /
    #[arg(long, value_parser = existing_dir)]
    root: PathBuf,
    /// Also serve DIR under /PREFIX (repeatable; a mount wins over files under the root)
    #[arg(long = "mount", value_name = "/PREFIX=DIR", value_parser = parse_mount)]
    mounts: Vec<Mount>,
    /// Port to listen on; 0 picks a free one (the URL printed at start names it)
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Send no cross-origin isolation headers, to check pages that must work without them
    #[arg(long)]
    no_isolation: bool,
    /// Also let pages frame ORIGIN (repeatable): the embed demo, served on a second port, frames
    /// Lantern from the first
    #[arg(long = "frame-src", value_name = "ORIGIN", value_parser = parse_origin)]
    frame_sources: Vec<String>,
}

#[derive(Clone)]
struct Mount {
    prefix: String,
    dir: PathBuf,
}

fn existing_dir(arg: &str) -> Result<PathBuf, String> {
    let dir = PathBuf::from(arg);
    if dir.is_dir() { Ok(dir) } else { Err(format!("'{arg}' is not a directory")) }
}

/// An origin as CSP names one: http(s)://host[:port], nothing that could end the directive.
fn parse_origin(arg: &str) -> Result<String, String> {
    let host = arg.strip_prefix("http://").or_else(|| arg.strip_prefix("https://")).unwrap_or("");
    let in_host = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    if !host.is_empty() && host.chars().all(in_host) {
        Ok(arg.to_string())
    } else {
        Err(format!("'{arg}' is not an origin such as http://127.0.0.1:8000"))
    }
}

fn parse_mount(arg: &str) -> Result<Mount, String> {
    let (prefix, dir) = arg.split_once('=').ok_or_else(|| format!("'{arg}' is not /PREFIX=DIR"))?;
    let prefix = prefix.trim_end_matches('/');
    if !prefix.starts_with('/') {
        return Err(format!("mount prefix '{prefix}' must start with '/' and not be the root"));
    }
    Ok(Mount { prefix: prefix.to_string(), dir: existing_dir(dir)? })
}

/// Serves .mjs as text/javascript, the type the HTML spec names; mime_guess says application/javascript.
async fn javascript_modules(request: Request, next: Next) -> Response {
    let is_module = request.uri().path().ends_with(".mjs");
    let mut response = next.run(request).await;
    if is_module && response.status().is_success() {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript"));
    }
    response
}

/// What a Lantern page may load: everything from its own origin, wasm compiled from its own files
/// ('wasm-unsafe-eval'), the thread pool's workers, which wasm-bindgen-rayon starts from blob:
/// copies of its own script, and results shown from the blob: and data: URLs it makes. Every
/// host config in this folder sends the same (README.md; the static-host tests check they agree).
/// No `frame-ancestors`: any page may embed Lantern, unless embed.json lists who may.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'; img-src 'self' blob: data:; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

/// Documents are the pages other origins frame: CORP `cross-origin` lets an isolated embedder load
/// them; everything else keeps `same-origin`, as only Lantern's own document loads it.
async fn resource_policy(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_document =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let policy = if is_document { "cross-origin" } else { "same-origin" };
    response
        .headers_mut()
        .insert(HeaderName::from_static("cross-origin-resource-policy"), HeaderValue::from_static(policy));
    response
}

/// embed.json beside index.html (site/protocol.js, EmbedAllowList): the origins that may frame it.
#[derive(Deserialize)]
struct EmbedAllowList {
    allow: Vec<String>,
}

/// The origins the served folder's embed.json lets frame it, read once at start; none where the
/// folder has no embed.json, as then any page may.
fn allowed_embedders(root: &Path) -> Result<Vec<String>, String> {
    let path = root.join("embed.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let list: EmbedAllowList = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    list.allow.iter().map(|origin| parse_origin(origin).map_err(|e| format!("{}: {e}", path.display()))).collect()
}

/// The Content-Security-Policy, with `frame-src` for the origins `--frame-src` names and
/// `frame-ancestors` for those embed.json allows.
fn content_security_policy(frame_sources: &[String], embedders: &[String]) -> HeaderValue {
    let mut policy = CONTENT_SECURITY_POLICY.to_string();
    if !frame_sources.is_empty() {
        policy += &format!("; frame-src 'self' {}", frame_sources.join(" "));
    }
    if !embedders.is_empty() {
        policy += &format!("; frame-ancestors 'self' {}", embedders.join(" "));
    }
    HeaderValue::from_str(&policy).expect("origins are checked by parse_origin")
}

fn router(args: &Args, embedders: &[String]) -> Router {
    let mut router = args
        .mounts
        .iter()
        .fold(Router::new(), |router, mount| router.nest_service(&mount.prefix, ServeDir::new(&mount.dir)))
        .fallback_service(ServeDir::new(&args.root))
        .layer(middleware::from_fn(javascript_modules))
        // Always revalidate, so a rebuilt wasm is picked up on reload.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            content_security_policy(&args.frame_sources, embedders),
        ));
    if !args.no_isolation {
        for (name, value) in
            [("cross-origin-opener-policy", "same-origin"), ("cross-origin-embedder-policy", "require-corp")]
        {
            router = router.layer(SetResponseHeaderLayer::overriding(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ));
        }
        router = router.layer(middleware::from_fn(resource_policy));
    }
    router
}

async fn serve(args: Args) -> std::io::Result<()> {
    let embedders = allowed_embedders(&args.root).map_err(std::io::Error::other)?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {address}: {e}")))?;
    let address = listener.local_addr()?;
    let isolation = if args.no_isolation { "not isolated" } else { "cross-origin isolated" };
    println!("Serving {} at http://{address}/ ({isolation})", args.root.display());
    for mount in &args.mounts {
        println!("  {}/ -> {}", mount.prefix, mount.dir.display());
    }
    if !embedders.is_empty() {
        println!("  may be framed by {} (embed.json)", embedders.join(", "));
    }
    axum::serve(listener, router(&args, &embedders))
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match serve(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lantern-serve: {e}");
            ExitCode::FAILURE
        }
    }
}
