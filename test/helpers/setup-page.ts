/** Reads what the setup page of `npm start` offers: the form's action and the manifest it posts. */
const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const unescape = (text: string) => text.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!);

export interface SetupForm {
  action: string;
  manifest: Record<string, unknown> & {
    hook_attributes: { url: string; active: boolean };
    redirect_url: string;
    default_permissions: Record<string, string>;
    default_events: string[];
  };
}

export function readSetupForm(html: string): SetupForm {
  const form = /<form action="([^"]*)" method="post" data-form="manifest">\s*<input type="hidden" name="manifest" value="([^"]*)">/.exec(html);
  if (!form) throw new Error(`no manifest form in the page:\n${html}`);
  return { action: unescape(form[1]!), manifest: JSON.parse(unescape(form[2]!)) as SetupForm['manifest'] };
}

/** A clean environment: nothing of either forge set, whatever the caller's shell has. */
export function withoutForgeSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = { ...env };
  for (const name of Object.keys(clean))
    if (/^(APP_ID|PRIVATE_KEY|PRIVATE_KEY_PATH|WEBHOOK_SECRET|WEBHOOK_PROXY_URL|GH_ORG|GHE_|GITLAB_|SIGNET_)/.test(name)) delete clean[name];
  return clean;
}
