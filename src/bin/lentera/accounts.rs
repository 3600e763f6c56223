//! `lentera users`, `lentera tokens`, `lentera audit`, `lentera backup` and `lentera restore`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context, Result};

use crate::args::{AuditArgs, AuditCommand, TokensCommand, UsersCommand};
use lentera::export::TableFormat;
use lentera::model::account::{after, new_secret, secret_digest};
use lentera::model::sheet::SheetCsv;
use lentera::model::{
    AuditAction, AuditEntry, AuditFilter, ChainCheck, NewToken, NewUser, Password, UserChange,
    UserName,
};
use lentera::store::Store;

/// The operating-system user running the command line, as the audit trail names it
/// (`cli:NAME`).
pub fn cli_user() -> String {
    format!(
        "cli:{}",
        std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "?".into())
    )
}

/// Records an action of the command line in the audit trail: the actor is the operating
/// system's user, as the client `cli:NAME`.
pub async fn audit_cli(
    store: &dyn Store,
    action: AuditAction,
    command: &str,
    params: String,
    count: Option<u64>,
) -> Result<()> {
    let mut e = AuditEntry::new(action, command);
    e.params = params;
    e.count = count;
    e.client = cli_user();
    store
        .append_audit(&[e])
        .await
        .context("cannot write the audit trail")
}

/// A new password: from standard input's first line, or typed twice on the terminal without
/// being shown.
fn read_password(from_stdin: bool) -> Result<Password> {
    let stdin = std::io::stdin();
    let text = if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ")?;
        if rpassword::prompt_password("Again: ")? != first {
            bail!("the passwords differ");
        }
        first
    };
    Ok(Password::new(text)?)
}

async fn change(store: &dyn Store, name: &UserName, change: UserChange, what: &str) -> Result<()> {
    let Some(user) = store.change_user(name, &change).await? else {
        bail!("there is no user `{name}` (see `lentera users list`)");
    };
    audit_cli(
        store,
        AuditAction::UserChange,
        "lentera users",
        format!("{what} {name}"),
        None,
    )
    .await?;
    println!(
        "User {} ({}): {what}; scope {}, {}.",
        user.name,
        user.role,
        if user.scope.is_empty() {
            "-".to_string()
        } else {
            user.principal().scope_text()
        },
        if user.disabled { "disabled" } else { "enabled" }
    );
    Ok(())
}

/// Runs `lentera users …`.
pub async fn users(store: &dyn Store, cmd: UsersCommand) -> Result<()> {
    match cmd {
        UsersCommand::Add {
            name,
            role,
            scope,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let new = NewUser::new(name, role, scope, &password)?;
            let user = store.add_user(&new).await?;
            audit_cli(
                store,
                AuditAction::UserAdd,
                "lentera users add",
                format!(
                    "{} role={} scope={}",
                    user.name,
                    user.role,
                    user.principal().scope_text()
                ),
                None,
            )
            .await?;
            println!("Added user {} ({}).", user.name, user.role);
            Ok(())
        }
        UsersCommand::List => {
            println!(
                "{:<24} {:<9} {:<24} {:<9} {:>7}  created",
                "name", "role", "scope", "state", "failed"
            );
            for u in store.users().await? {
                let state = if u.disabled {
                    "disabled"
                } else if u.is_locked() {
                    "locked"
                } else {
                    "active"
                };
                println!(
                    "{:<24} {:<9} {:<24} {:<9} {:>7}  {}",
                    u.name,
                    u.role,
                    u.principal().scope_text(),
                    state,
                    u.failed_logins,
                    u.created_at
                );
            }
            Ok(())
        }
        UsersCommand::Disable { name } => {
            change(store, &name, UserChange::Disable, "disabled").await
        }
        UsersCommand::Enable { name } => change(store, &name, UserChange::Enable, "enabled").await,
        UsersCommand::Unlock { name } => change(store, &name, UserChange::Unlock, "unlocked").await,
        UsersCommand::Passwd {
            name,
            password_stdin,
        } => {
            let hash = read_password(password_stdin)?.hash()?;
            change(store, &name, UserChange::Password(hash), "new password").await
        }
        UsersCommand::Grant { name, scope } => {
            let Some(account) = store.account(&name).await? else {
                bail!("there is no user `{name}` (see `lentera users list`)");
            };
            lentera::model::account::check_scope(account.user.role, &scope)?;
            change(store, &name, UserChange::Scope(scope), "new scope").await
        }
    }
}

/// Runs `lentera tokens …`.
pub async fn tokens(store: &dyn Store, cmd: TokensCommand) -> Result<()> {
    match cmd {
        TokensCommand::Create {
            name,
            expires,
            label,
        } => {
            let Some(account) = store.account(&name).await? else {
                bail!("there is no user `{name}` (see `lentera users list`)");
            };
            if account.user.disabled {
                bail!("user `{name}` is disabled; enable it first");
            }
            let secret = new_secret("lt_");
            let token = store
                .add_token(&NewToken {
                    user: name.clone(),
                    digest: secret_digest(&secret),
                    label: label.chars().take(200).collect(),
                    expires_at: expires.map(|d| after(*d)),
                })
                .await?;
            audit_cli(
                store,
                AuditAction::TokenCreate,
                "lentera tokens create",
                format!("token {} of {name}", token.id),
                None,
            )
            .await?;
            eprintln!(
                "Token {} for {name} ({}), expires {}. It is shown only now; keep it secret:",
                token.id,
                account.user.role,
                token.expires_at.as_deref().unwrap_or("never")
            );
            println!("{secret}");
            Ok(())
        }
        TokensCommand::List { name } => {
            println!(
                "{:>5}  {:<24} {:<20} {:<24} {:<24} state",
                "id", "user", "label", "created", "expires"
            );
            for t in store.tokens(name.as_ref()).await? {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.is_valid() {
                    "valid"
                } else {
                    "expired"
                };
                println!(
                    "{:>5}  {:<24} {:<20} {:<24} {:<24} {state}",
                    t.id,
                    t.user,
                    t.label,
                    t.created_at,
                    t.expires_at.as_deref().unwrap_or("never")
                );
            }
            Ok(())
        }
        TokensCommand::Revoke { id } => {
            let Some(t) = store.revoke_token(id).await? else {
                bail!("there is no token {id} (see `lentera tokens list`)");
            };
            audit_cli(
                store,
                AuditAction::TokenRevoke,
                "lentera tokens revoke",
                format!("token {id} of {}", t.user),
                None,
            )
            .await?;
            println!("Revoked token {id} of {}.", t.user);
            Ok(())
        }
    }
}

/// Records per page read from the store.
const PAGE: usize = 10_000;

/// Runs `lentera audit [verify]`.
pub async fn audit(store: &dyn Store, args: AuditArgs) -> Result<()> {
    if let Some(AuditCommand::Verify) = args.verify {
        let mut check = ChainCheck::new();
        loop {
            let page = store
                .audit(&AuditFilter::default(), check.last_id(), PAGE)
                .await?;
            for r in &page {
                check
                    .next(r)
                    .map_err(|e| anyhow::anyhow!("{e} (checked {} records)", check.checked))?;
            }
            if page.len() < PAGE {
                break;
            }
        }
        println!(
            "The audit trail is intact: {} records, each chained to the one before.",
            check.checked
        );
        return Ok(());
    }
    let since = args.since.map(|s| {
        if s.len() == 10 {
            format!("{s}T00:00:00.000Z")
        } else {
            s
        }
    });
    let filter = AuditFilter {
        since,
        user: args.user,
        action: args.action,
    };
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut csv =
        (args.format == TableFormat::Csv).then(|| SheetCsv::from_writer(std::io::stdout()));
    if let Some(w) = csv.as_mut() {
        w.write_record([
            "id", "at", "actor", "role", "action", "scope", "endpoint", "params", "count",
            "purpose", "client", "detail", "hash",
        ])?;
    }
    let mut after_id = 0;
    let mut first = true;
    if args.format == TableFormat::Json {
        write!(out, "[")?;
    }
    loop {
        let page = store.audit(&filter, after_id, PAGE).await?;
        for r in &page {
            let e = &r.entry;
            match args.format {
                TableFormat::Json => {
                    if !first {
                        write!(out, ",")?;
                    }
                    write!(out, "\n{}", serde_json::to_string(r)?)?;
                }
                TableFormat::Csv => {
                    if let Some(w) = csv.as_mut() {
                        w.write_record([
                            r.id.to_string().as_str(),
                            &e.at,
                            e.actor.as_deref().unwrap_or(""),
                            e.role.as_deref().unwrap_or(""),
                            &e.action,
                            e.scope.as_deref().unwrap_or(""),
                            &e.endpoint,
                            &e.params,
                            &e.count.map(|c| c.to_string()).unwrap_or_default(),
                            e.purpose.as_deref().unwrap_or(""),
                            &e.client,
                            &e.detail,
                            &r.hash,
                        ])?;
                    }
                }
                TableFormat::Table => writeln!(
                    out,
                    "{:>6} {} {:<16} {:<14} {:<40} {:>7} {}{}",
                    r.id,
                    e.at,
                    e.actor.as_deref().unwrap_or(&e.client),
                    e.action,
                    format!("{} {}", e.endpoint, e.params)
                        .chars()
                        .take(40)
                        .collect::<String>(),
                    e.count.map(|c| c.to_string()).unwrap_or_default(),
                    e.detail,
                    e.purpose
                        .as_deref()
                        .map(|p| format!(" — {p}"))
                        .unwrap_or_default()
                )?,
            }
            first = false;
            after_id = r.id;
        }
        if page.len() < PAGE {
            break;
        }
    }
    if let Some(mut w) = csv {
        w.flush()?;
    }
    if args.format == TableFormat::Json {
        writeln!(out, "\n]")?;
    }
    Ok(())
}

/// Runs `lentera backup -o FILE`.
pub async fn backup(store: &dyn Store, output: &std::path::Path) -> Result<()> {
    let started = std::time::Instant::now();
    store
        .backup(output)
        .await
        .with_context(|| format!("cannot back up to {}", output.display()))?;
    audit_cli(
        store,
        AuditAction::Backup,
        "lentera backup",
        output.display().to_string(),
        None,
    )
    .await?;
    let size = std::fs::metadata(output).map_or(0, |m| m.len());
    println!(
        "Backed up the {} store to {} ({:.1} MiB, {:.1} s).",
        store.backend(),
        output.display(),
        size as f64 / f64::from(1u32 << 20),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs `lentera restore FILE`.
pub async fn restore(store: &dyn Store, file: &std::path::Path) -> Result<()> {
    store
        .restore(file)
        .await
        .with_context(|| format!("cannot restore {}", file.display()))?;
    audit_cli(
        store,
        AuditAction::Restore,
        "lentera restore",
        file.display().to_string(),
        None,
    )
    .await?;
    println!(
        "Restored the {} store from {}; running servers rebuild their snapshot.",
        store.backend(),
        file.display()
    );
    Ok(())
}
