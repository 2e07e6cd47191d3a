/**
 * The few pages the runtime origin shows itself, when a browser lands on an address that no runtime
 * answers: a name that is not the user's, or the user's own runtime not routed yet. The web UI lives
 * on the other origin, so these are plain server-made HTML, in the language the browser asks for,
 * with no script, and a way back to CrewClaw.
 */
import type { Request, Response } from 'express';

export type RuntimeOriginPage = 'not_found' | 'ambiguous' | 'opening' | 'sign_in_expired' | 'cookies_refused';
type Language = 'en' | 'zh-CN';

interface PageText {
  title: string;
  message: string;
  back: string;
}

const TEXT: Record<Language, Record<RuntimeOriginPage, PageText>> = {
  en: {
    not_found: {
      title: 'No runtime here',
      message: 'There is no runtime at this address that you can open. Check the address, or open your own runtime from CrewClaw.',
      back: 'Go to CrewClaw',
    },
    ambiguous: {
      title: 'This address is refused',
      message: 'This address can be read in more than one way (a .. segment, an encoded slash or the like), so it is refused. Open your runtime from CrewClaw.',
      back: 'Go to CrewClaw',
    },
    opening: {
      title: 'Opening your runtime…',
      message: 'Your runtime is running and is being connected. This page reloads by itself in a moment. Still here after a minute? Restart your runtime from CrewClaw: it was made for other settings.',
      back: 'Back to CrewClaw',
    },
    sign_in_expired: {
      title: 'This sign-in link has expired',
      message: 'Links that sign you in to your runtime work once, for a minute. Open your runtime from CrewClaw again. If this keeps happening, allow cookies for this site.',
      back: 'Go to CrewClaw',
    },
    cookies_refused: {
      title: 'Your browser refused the sign-in cookie',
      message: "Your runtime has an address of its own, and your browser did not keep the cookie that signs you in there. Allow cookies for this site (and its subdomains), then open your runtime from CrewClaw again.",
      back: 'Go to CrewClaw',
    },
  },
  'zh-CN': {
    not_found: {
      title: '这里没有运行时',
      message: '此地址上没有您可以打开的运行时。请检查地址，或从 CrewClaw 打开您自己的运行时。',
      back: '前往 CrewClaw',
    },
    ambiguous: {
      title: '此地址被拒绝',
      message: '此地址可以有多种理解（包含 .. 路径段、编码的斜杠等），因此被拒绝。请从 CrewClaw 打开您的运行时。',
      back: '前往 CrewClaw',
    },
    opening: {
      title: '正在打开您的运行时…',
      message: '您的运行时已在运行，正在连接。此页面稍后会自动刷新。一分钟后仍停留在此？请在 CrewClaw 中重启您的运行时：它是按其他设置创建的。',
      back: '返回 CrewClaw',
    },
    sign_in_expired: {
      title: '此登录链接已失效',
      message: '登录运行时的链接只能使用一次，且一分钟内有效。请从 CrewClaw 重新打开您的运行时。如果反复出现，请允许此网站使用 Cookie。',
      back: '前往 CrewClaw',
    },
    cookies_refused: {
      title: '您的浏览器拒绝了登录 Cookie',
      message: '您的运行时有自己的地址，而您的浏览器没有保存在那里登录所需的 Cookie。请允许此网站（及其子域名）使用 Cookie，然后从 CrewClaw 重新打开您的运行时。',
      back: '前往 CrewClaw',
    },
  },
};

const STATUS: Record<RuntimeOriginPage, number> = { not_found: 404, ambiguous: 400, opening: 503, sign_in_expired: 400, cookies_refused: 400 };
/** How soon the "opening" page reloads: Traefik picks up a runtime that just started within about two seconds. */
const OPENING_RELOAD_SECONDS = 2;

function languageOf(req: Request): Language {
  const best = req.acceptsLanguages('en', 'zh-CN', 'zh');
  return best === 'zh-CN' || best === 'zh' ? 'zh-CN' : 'en';
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (character) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[character] ?? character);

export function sendRuntimeOriginPage(req: Request, res: Response, page: RuntimeOriginPage, platformUrl: string): void {
  const language = languageOf(req);
  const text = TEXT[language][page];
  const reload = page === 'opening' ? `<meta http-equiv="refresh" content="${OPENING_RELOAD_SECONDS}">` : '';
  res.status(STATUS[page]);
  res.setHeader('Cache-Control', 'no-store');
  if (page === 'opening') res.setHeader('Retry-After', String(OPENING_RELOAD_SECONDS));
  res.type('html').send(`<!doctype html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${reload}<title>${escapeHtml(text.title)} · CrewClaw</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f6f7f9; color: #1f2933; }
  main { max-width: 28rem; margin: 1.5rem; padding: 2rem; background: #fff; border-radius: 12px; box-shadow: 0 1px 3px rgba(0,0,0,.12); }
  h1 { font-size: 1.35rem; margin: 0 0 .75rem; }
  p { line-height: 1.5; margin: 0 0 1.25rem; }
  a { color: #1d4ed8; font-weight: 600; }
</style>
</head>
<body>
<main data-page="${page}">
<h1>${escapeHtml(text.title)}</h1>
<p>${escapeHtml(text.message)}</p>
<a href="${escapeHtml(`${platformUrl}/`)}">${escapeHtml(text.back)}</a>
</main>
</body>
</html>
`);
}
