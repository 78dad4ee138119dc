import type { JsonObject, ToolInput, ToolSpec } from "../db/tools";
import { ApiError } from "../lib/errors";
import { newWebhookSecret } from "../lib/webhook-signature";
import { normalisedWebhookUrl, WEBHOOK_URL_MAX_CHARS, webhookUrlProblem } from "../lib/webhook-urls";

/**
 * Tools as a request wrote them, made ready to store: each server tool's URL checked against the
 * webhook URL policy (the deployment's, so not in the schema) and normalised, and a signing secret
 * generated where none was given. `revealed` names the tools whose secret was generated here: the
 * response to this request is the only one that shows it.
 */
export function acceptTools(input: readonly ToolInput[], allowInsecureUrls: boolean, param = "tools"): { tools: ToolSpec[]; revealed: string[] } {
  const revealed: string[] = [];
  const tools = input.map((tool, i): ToolSpec => {
    const filler = tool.filler === undefined ? {} : { filler: tool.filler };
    // Parsed from the request's JSON: a JSON object.
    const parameters = tool.parameters as JsonObject;
    const base = { name: tool.name, description: tool.description, parameters, timeout_ms: tool.timeout_ms, ...filler };
    if (tool.type === "client") return { type: "client", ...base, client: tool.client };
    const problem = webhookUrlProblem(tool.url, allowInsecureUrls);
    if (problem) throw new ApiError("parameter.invalid", `'${param}.${i}.url' ${problem}.`, { param: `${param}.${i}.url` });
    const url = normalisedWebhookUrl(tool.url);
    if (url.length > WEBHOOK_URL_MAX_CHARS) {
      throw new ApiError("parameter.invalid", `'${param}.${i}.url' must be at most ${WEBHOOK_URL_MAX_CHARS} characters once normalised.`, {
        param: `${param}.${i}.url`,
      });
    }
    if (tool.secret === undefined) revealed.push(tool.name);
    return { type: "server", ...base, url, headers: tool.headers, secret: tool.secret ?? newWebhookSecret() };
  });
  return { tools, revealed };
}
