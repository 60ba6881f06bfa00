// Drives the quickstart's page at `/` in Debian's headless Chromium through playwright-core
// (which downloads no browser): login with the cookie routes, /api/me shown, a protected
// POST with the CSRF header (201) and without it or with a wrong one (401), the sessions
// list and "log out my other devices", a cookie refresh, logout; then the mail links of a
// registration and a password reset, whose token travels in the URL fragment and is
// removed from the address bar once read. Screenshots go to target/browser/. Exits
// non-zero on any failure.
//
//   npm ci --prefix tests/browser
//   node tests/browser/quickstart.mjs        # builds the quickstart with cargo first
//
// Environment: QUICKSTART_BIN (a built quickstart binary; default: `cargo build` it),
// CHROMIUM (default /usr/bin/chromium).

import { spawn, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");
const outDir = path.join(root, "target", "browser");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const USER = "editor";
const PASSWORD = "browser-test-password";

const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function log(message) {
  process.stdout.write(`browser: ${message}\n`);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  log(`ok: ${message}`);
}

/**
 * Waits until the element's text starts with `prefix`. The page writes a result only after
 * it has read the response body, a moment after `waitForResponse` resolves, so reading the
 * text at once races the page's script.
 */
async function shows(page, selector, prefix) {
  try {
    await page.waitForFunction(
      ([sel, p]) => document.querySelector(sel)?.textContent.startsWith(p),
      [selector, prefix],
      { timeout: 15_000 },
    );
    return true;
  } catch (err) {
    const text = await page.textContent(selector).catch(() => null);
    log(`${selector} shows ${JSON.stringify(text)} (waited for ${JSON.stringify(prefix)}: ${err.message.split("\n")[0]})`);
    return false;
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** The quickstart binary: QUICKSTART_BIN, or what `cargo build` reports. */
function quickstartBinary() {
  // The server runs in a temporary directory, so a relative path is resolved here first.
  if (process.env.QUICKSTART_BIN) return path.resolve(process.env.QUICKSTART_BIN);
  log("building the quickstart (cargo build -p centurion-examples --bin quickstart)");
  const cargo = process.env.CARGO || "cargo";
  const build = spawnSync(
    cargo,
    ["build", "-p", "centurion-examples", "--bin", "quickstart", "--message-format=json"],
    { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 },
  );
  if (build.status !== 0) throw new Error(`cargo build failed with status ${build.status}`);
  for (const line of build.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const msg = JSON.parse(line);
    if (msg.reason === "compiler-artifact" && msg.target?.name === "quickstart" && msg.executable) {
      return msg.executable;
    }
  }
  throw new Error("cargo build did not report the quickstart executable");
}

async function waitForHealth(base, server, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (server.spawnError) throw new Error(`the quickstart did not start: ${server.spawnError.message}`);
    if (server.exitCode !== null) throw new Error(`the quickstart exited with ${server.exitCode}`);
    try {
      const res = await fetch(`${base}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the quickstart did not answer /healthz in time");
}

async function main() {
  fs.mkdirSync(outDir, { recursive: true });
  fs.rmSync(path.join(outDir, "quickstart-failure.png"), { force: true });
  if (!fs.existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath}`);
  const binary = quickstartBinary();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "centurion-browser-"));
  const serverLog = path.join(outDir, "quickstart-server.log");
  const logFd = fs.openSync(serverLog, "w");
  const server = spawn(binary, [], {
    cwd: work,
    stdio: ["ignore", logFd, logFd],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME || work,
      RUST_LOG: "info",
      CENTURION_ADDR: `127.0.0.1:${port}`,
      PUBLIC_URL: base,
      DATABASE_URL: `sqlite://${path.join(work, "quickstart.db")}`,
      CENTURION_SECRET: crypto.randomBytes(48).toString("base64url"),
      CENTURION_SEED_USERS: `${USER}:${PASSWORD}:editor`,
    },
  });
  // Without a listener a failed spawn is an uncaught error that skips the clean-up below.
  server.on("error", (err) => { server.spawnError = err; });
  let context;
  let page;
  let failed = false;
  try {
    await waitForHealth(base, server, 60_000);
    log(`quickstart up on ${base}`);

    const userDataDir = fs.mkdtempSync(path.join(work, "profile-"));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1000, height: 1100 },
      timeout: 60_000,
    });
    context.setDefaultTimeout(15_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on("pageerror", (err) => log(`page error: ${err.message}`));

    // The page, logged out.
    await page.goto(`${base}/`);
    await page.locator("#login-view").waitFor({ state: "visible" });
    check(true, "the page at / shows the login form");

    // Login with the cookie routes.
    const [loginResponse] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/auth/session` && r.request().method() === "POST"),
      (async () => {
        await page.fill("#username", USER);
        await page.fill("#password", PASSWORD);
        await page.click("#login");
      })(),
    ]);
    check(loginResponse.status() === 200, `POST /auth/session answered ${loginResponse.status()}`);
    const loginBody = await loginResponse.json();
    check(typeof loginBody.csrf_token === "string" && loginBody.csrf_token.length > 20, "the login body carries a csrf_token");

    // /api/me shown.
    await page.locator("#session-view").waitFor({ state: "visible" });
    const me = JSON.parse(await page.textContent("#me"));
    check(me.username === USER && me.roles.includes("editor"), `/api/me shows ${me.username} with roles ${me.roles}`);

    // The cookies, as the browser keeps them.
    const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
    const access = cookies.access_token;
    const refresh = cookies.refresh_token;
    const csrf = cookies.csrf_token;
    check(access && access.httpOnly && access.sameSite === "Lax" && access.path === "/", "the access cookie is HttpOnly, SameSite=Lax, Path=/");
    check(refresh && refresh.httpOnly && refresh.path === "/auth/session", "the refresh cookie is HttpOnly on Path=/auth/session");
    check(csrf && !csrf.httpOnly && csrf.value === loginBody.csrf_token, "the CSRF cookie is script-readable and equals the body's token");
    const scriptCookies = await page.evaluate(() => document.cookie);
    check(!scriptCookies.includes("access_token") && !scriptCookies.includes("refresh_token"), "scripts cannot read the token cookies");

    // The protected POST with the CSRF header.
    await page.fill("#article-title", "Written in a real browser");
    const [withCsrf] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/api/articles`),
      page.click("#post-article"),
    ]);
    check(withCsrf.status() === 201, `POST /api/articles with the CSRF header answered ${withCsrf.status()}`);
    check(withCsrf.request().headers()["x-csrf-token"] === loginBody.csrf_token, "the page sent the CSRF token in X-CSRF-Token");
    check(await shows(page, "#article-result", "201"), "the page shows the 201");
    await page.screenshot({ path: path.join(outDir, "quickstart-session.png"), fullPage: true });

    // The same POST without the CSRF header: refused.
    const [withoutCsrf] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/api/articles`),
      page.click("#post-without-csrf"),
    ]);
    const refusal = await withoutCsrf.json();
    check(withoutCsrf.status() === 401 && refusal.error === "CSRFError", `POST /api/articles without the CSRF header answered ${withoutCsrf.status()} ${refusal.error}`);
    check(await shows(page, "#article-result", "401"), "the page shows the 401");
    await page.screenshot({ path: path.join(outDir, "quickstart-no-csrf.png"), fullPage: true });

    // A wrong CSRF token, and one of another session, from the page's own script.
    const wrong = await page.evaluate(async () => {
      const res = await fetch("/api/articles", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": "not-the-token" },
        body: JSON.stringify({ title: "forged" }),
      });
      return { status: res.status, body: await res.json() };
    });
    check(wrong.status === 401 && wrong.body.error === "CSRFError", `a wrong X-CSRF-Token answered ${wrong.status} ${wrong.body.error}`);

    // The sessions list, and "log out my other devices": another device logs in (outside
    // the browser); the page lists both, this one marked; ending the others kills it.
    const other = await fetch(`${base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "OtherDevice/1.0" },
      body: JSON.stringify({ username: USER, password: PASSWORD }),
    });
    check(other.status === 200, `a second device logged in (${other.status})`);
    const otherTokens = await other.json();
    const [listed] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/api/sessions` && r.request().method() === "GET"),
      page.evaluate(() => loadSessions()),
    ]);
    check(listed.status() === 200, `GET /api/sessions answered ${listed.status()}`);
    await page.waitForFunction(() => document.querySelectorAll("#sessions li").length === 2);
    const rows = await page.$$eval("#sessions li", (items) => items.map((li) => li.textContent));
    check(rows.some((r) => r.includes("OtherDevice/1.0")) && rows.some((r) => r.includes("this session")),
      `the page lists both sessions, this one marked: ${JSON.stringify(rows)}`);
    const [endOthers] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/api/sessions` && r.request().method() === "DELETE"),
      page.click("#end-others"),
    ]);
    check(endOthers.status() === 200, `DELETE /api/sessions answered ${endOthers.status()}`);
    check((await endOthers.json()).revoked === 1, "one other session ended");
    check(endOthers.request().headers()["x-csrf-token"] === loginBody.csrf_token, "the page sent the CSRF token with the DELETE");
    await page.waitForFunction(() => document.querySelectorAll("#sessions li").length === 1);
    const otherMe = await fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${otherTokens.access_token}` } });
    check(otherMe.status === 401, `the other device's access token is refused (${otherMe.status})`);
    await page.screenshot({ path: path.join(outDir, "quickstart-sessions.png"), fullPage: true });

    // Refresh by cookie: new cookies, same session.
    // The page reloads /api/me after a refresh; wait for that too, or the logout below
    // races it and the late answer could switch the page back to the session view.
    const [refreshed, meReloaded] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/auth/session/refresh`),
      page.waitForResponse((r) => r.url() === `${base}/api/me`),
      page.click("#refresh"),
    ]);
    check(refreshed.status() === 200, `POST /auth/session/refresh answered ${refreshed.status()}`);
    const after = Object.fromEntries((await context.cookies()).map((c) => [c.name, c]));
    check(after.access_token.value !== access.value && after.refresh_token.value !== refresh.value, "the refresh rotated both token cookies");
    check(meReloaded.status() === 200, `/api/me with the refreshed cookies answered ${meReloaded.status()}`);
    check(await shows(page, "#status", "Session refreshed"), "the page says the session was refreshed");
    await page.locator("#session-view").waitFor({ state: "visible" });

    // Logout: cookies cleared, the session revoked.
    const [logout] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/auth/session` && r.request().method() === "DELETE"),
      page.click("#logout"),
    ]);
    check(logout.status() === 200, `DELETE /auth/session answered ${logout.status()}`);
    await page.locator("#login-view").waitFor({ state: "visible" });
    const left = (await context.cookies()).map((c) => c.name);
    check(left.length === 0, `no cookies left after logout (${left.join(", ") || "none"})`);
    const meAfter = await page.evaluate(async () => (await fetch("/api/me")).status);
    check(meAfter === 401, `/api/me after logout answered ${meAfter}`);
    // The revoked access token, replayed by hand, is refused too.
    const replay = await fetch(`${base}/api/me`, { headers: { cookie: `access_token=${after.access_token.value}` } });
    check(replay.status === 401, `the logged-out access cookie replayed answered ${replay.status}`);
    await page.screenshot({ path: path.join(outDir, "quickstart.png"), fullPage: true });

    // The links of the mails carry their token in the fragment (never sent to a server,
    // never in a Referer): /confirm#token=… posts it, /reset#token=… asks for a new
    // password; the page removes the fragment from the address bar once it has read it.
    const [confirm] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/auth/confirm`),
      page.goto(`${base}/confirm#token=not-a-token`),
    ]);
    check(confirm.status() === 401, `/confirm#token=… posted the token to /auth/confirm (${confirm.status()} for a bad one)`);
    await page.locator("#confirm-result.err").waitFor({ state: "visible" });
    check(!page.url().includes("token"), `the address bar lost the token (${page.url()})`);
    await page.goto(`${base}/reset#token=not-a-token`);
    await page.locator("#reset-form").waitFor({ state: "visible" });
    check(!page.url().includes("token"), `the reset page removed the token from the address bar (${page.url()})`);
    await page.fill("#reset-password", "a new password of some length");
    const [reset] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/auth/password/reset`),
      page.click("#reset-form button"),
    ]);
    check(reset.status() === 401, `/reset#token=… posts the new password to /auth/password/reset (${reset.status()} for a bad token)`);

    // A real registration and reset, from the links the server mailed (the console
    // mailer prints them in the server's log).
    const mailedToken = async (to, route) => {
      const pattern = new RegExp(`To: ${to.replace(/[.+]/g, "\\$&")}\\n[\\s\\S]*?/${route}#token=([A-Za-z0-9._~-]+)`, "g");
      for (let i = 0; i < 100; i++) {
        const found = [...fs.readFileSync(serverLog, "utf8").matchAll(pattern)];
        if (found.length) return found[found.length - 1][1];
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`no /${route} link mailed to ${to}`);
    };
    const register = await fetch(`${base}/auth/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "linker", email: "linker@example.com", password: "linker-password-1" }),
    });
    check(register.status === 201, `registered through the API (${register.status})`);
    const confirmToken = await mailedToken("linker@example.com", "confirm");
    const [confirmed] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/auth/confirm`),
      page.goto(`${base}/confirm#token=${confirmToken}`),
    ]);
    check(confirmed.status() === 200, `the mailed confirmation link confirmed the account (${confirmed.status()})`);
    check(!page.url().includes("#") && !page.url().includes(confirmToken), `the confirmation token left the address bar (${page.url()})`);
    const referer = confirmed.request().headers().referer || "";
    check(!referer.includes(confirmToken), `no token in the Referer of the page's request (${referer})`);
    await page.locator("#confirm-result.ok").waitFor({ state: "visible" });
    check(!(await page.evaluate(() => location.href)).includes(confirmToken), "location.href holds no token");

    const forgot = await fetch(`${base}/auth/password/forgot`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: "LINKER@example.com" }),
    });
    check(forgot.status === 202, `asked for a reset (${forgot.status})`);
    const resetToken = await mailedToken("linker@example.com", "reset");
    await page.goto(`${base}/reset#token=${resetToken}`);
    await page.locator("#reset-form").waitFor({ state: "visible" });
    check(!page.url().includes(resetToken), `the reset token left the address bar (${page.url()})`);
    await page.fill("#reset-password", "linker-password-2");
    const [done] = await Promise.all([
      page.waitForResponse((r) => r.url() === `${base}/auth/password/reset`),
      page.click("#reset-form button"),
    ]);
    check(done.status() === 200, `the mailed reset link set the new password (${done.status()})`);
    const relogin = await fetch(`${base}/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "linker", password: "linker-password-2" }),
    });
    check(relogin.status === 200, `logged in with the new password (${relogin.status})`);
    log(`screenshots in ${outDir}`);
  } catch (err) {
    failed = true;
    process.stderr.write(`browser: FAILED: ${err.stack || err}\n`);
    if (page) {
      await page.screenshot({ path: path.join(outDir, "quickstart-failure.png"), fullPage: true }).catch(() => {});
    }
    try {
      const text = fs.readFileSync(serverLog, "utf8");
      process.stderr.write(`browser: quickstart log (tail):\n${text.split("\n").slice(-40).join("\n")}\n`);
    } catch {
      // no log
    }
  } finally {
    if (context) await context.close().catch(() => {});
    server.kill("SIGTERM");
    await new Promise((r) => {
      if (server.exitCode !== null) return r();
      const timer = setTimeout(() => { server.kill("SIGKILL"); r(); }, 5_000);
      server.once("exit", () => { clearTimeout(timer); r(); });
    });
    fs.closeSync(logFd);
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (failed) process.exit(1);
  log("passed");
}

main().catch((err) => {
  process.stderr.write(`browser: FAILED: ${err.stack || err}\n`);
  process.exit(1);
});
