import { ApiError, quote } from "../../lib/errors";
import { fnv1a } from "../../lib/hash";
import type { ProviderContext } from "../context";
import { isObject, parseJson } from "../json";
import type {
  ChatEvent,
  ChatMessage,
  ChatRequest,
  ChatResult,
  ContentPart,
  FinishReason,
  LlmProvider,
  ModelInfo,
  ToolCall,
  ToolDefinition,
  Usage,
} from "./types";

/**
 * The built-in chat model, `mock:echo`: it makes the whole product (LLM tokens -> sentences -> TTS
 * audio) work offline and in tests. It never touches the network and never uses Math.random: every
 * choice comes from a hash of the model, the seed and the messages, so the same conversation always
 * gets the same answer, and a different one almost always a different answer.
 *
 * It answers the last user message in full sentences ending in `.`, `!` or `?` that echo the
 * message's key words. Directives anywhere in that message (case-insensitive), first match wins:
 * - "one word" / "reply with one word": exactly one word, e.g. "Okay.";
 * - "N sentences" (N = 1..50, digits or one..twenty): exactly N sentences;
 * - "tell me a story" / "long story": a story of at least 20 sentences and 1,500 characters;
 * - otherwise 2 to 4 sentences.
 * Abbreviations and decimals ("Dr. Smith measured 3.5 metres.") appear only when the message
 * contains the word "abbreviations", so a naive sentence count is exact unless they are asked for.
 *
 * Tools, JSON output, `max_tokens` (one word = one token) and `stop` behave as OpenAI documents
 * them. With tools, `auto` calls the tool the user's message names; "in parallel" (or "at the same
 * time") calls every tool it names in one round, "keep calling" calls again after each result, and
 * "announce" says a short sentence before the call. `stream()` sends the same content word by word, paced by `llm.mockWordIntervalMs`.
 */

const MODEL_NAME = "echo";

const MODEL: ModelInfo = {
  id: `mock:${MODEL_NAME}`,
  name: MODEL_NAME,
  context_window: 32_768,
  max_output_tokens: 4_096,
  capabilities: { streaming: true, tools: true, vision: false },
};

// ---------------------------------------------------------------------------------------------
// Deterministic choice

/** A seeded generator (mulberry32): a sequence of choices that depends only on its seed. */
class Dice {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A whole number in [0, n). */
  int(n: number): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  }

  pick<T>(list: readonly [T, ...T[]]): T {
    return list[this.int(list.length)] ?? list[0];
  }
}

/** Item `i` of a non-empty list, wrapping around. */
const cycle = <T>(list: readonly [T, ...T[]], i: number): T => list[i % list.length] ?? list[0];

/** The conversation's fingerprint: system and developer messages count too, but are never echoed. */
const fingerprint = (request: ChatRequest) => fnv1a(JSON.stringify([request.model, request.seed ?? null, request.messages]));

// ---------------------------------------------------------------------------------------------
// Reading the conversation

function textOf(content: string | readonly ContentPart[] | null): string {
  if (content === null) return "";
  if (typeof content === "string") return content;
  return content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join(" ");
}

const countWords = (text: string) => text.split(/\s+/).filter(Boolean).length;

/** Words of a JSON text (keys and values): a tool call's arguments have no spaces to count. */
const countJsonWords = (json: string) => (json.match(/[\p{L}\p{N}_]+/gu) ?? []).length;

/** Roughly what an upstream would bill: every word of every message, tool calls included. */
function promptTokens(messages: readonly ChatMessage[]): number {
  let total = 0;
  for (const message of messages) {
    total += countWords(textOf(message.content));
    if (message.role === "assistant") {
      for (const call of message.tool_calls ?? []) total += 1 + countJsonWords(call.function.arguments);
    }
  }
  return total;
}

/** Function words that make poor key words (and directive words, which are about the reply's form). */
const STOPWORDS = new Set(
  (
    "a an the and or but if then so of to in on at by for with from into about as is are was were be been " +
    "being am do does did have has had i me my mine you your yours we our us he she it its they them their " +
    "this that these those what whats what's which who whom whose when where why how can could would should " +
    "will shall may might must not no yes please tell give write say reply respond answer use call tool " +
    "function sentence sentences word words story long short full complete simple abbreviations some any all " +
    "just very really also there here than too more most much many let let's lets hi hello hey using " +
    "explain describe make get got know want need like think works work thing things something"
  ).split(" "),
);

/** Numbers spelled out, by value: how directives may say how many sentences. */
const NUMBER_WORDS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "eleven",
  "twelve",
  "thirteen",
  "fourteen",
  "fifteen",
  "sixteen",
  "seventeen",
  "eighteen",
  "nineteen",
  "twenty",
] as const;

/** Letters, digits, `_` (tool names), apostrophes and hyphens inside a word; never `.`, `!` or `?`. */
const WORD = /[\p{L}\p{N}_][\p{L}\p{N}_'’-]*/gu;

/** Key words are echoed back; the cap keeps replies readable. */
const MAX_KEYWORDS = 6;
/** Shorter words are nearly always function words. */
const MIN_KEYWORD_LENGTH = 3;

interface Prompt {
  text: string;
  wordCount: number;
  /** Content words in order of appearance, deduplicated; lowercased unless they look like names. */
  keywords: string[];
  /** Capitalised words in mid-sentence: the likeliest values of a tool's string arguments. */
  names: string[];
  isQuestion: boolean;
  /** The message asked for abbreviations and decimals (to test a sentence splitter). */
  abbreviations: boolean;
}

function readPrompt(text: string): Prompt {
  const keywords: string[] = [];
  const names: string[] = [];
  const seen = new Set<string>();
  for (const match of text.matchAll(WORD)) {
    const word = match[0].replace(/['’-]+$/, "");
    const lower = word.toLowerCase();
    const isNumber = /^\d+$/.test(word) || (NUMBER_WORDS as readonly string[]).includes(lower);
    if (word.length < MIN_KEYWORD_LENGTH || STOPWORDS.has(lower) || isNumber || seen.has(lower)) continue;
    seen.add(lower);
    const before = text.slice(0, match.index).trimEnd();
    const startsSentence = before === "" || /[.!?:]$/.test(before);
    const isName = /^\p{Lu}/u.test(word) && !startsSentence;
    if (isName) names.push(word);
    keywords.push(isName ? word : lower);
  }
  return {
    text,
    wordCount: countWords(text),
    keywords: keywords.slice(0, MAX_KEYWORDS),
    names,
    isQuestion: /\?\s*$/.test(text),
    abbreviations: /\babbreviations\b/i.test(text),
  };
}

type LastTurn = { kind: "user"; prompt: Prompt } | { kind: "tool"; prompt: Prompt; toolName: string | undefined; result: string };

/** What the reply answers: the last user message, or a tool result when that came last. */
function readLastTurn(messages: readonly ChatMessage[]): LastTurn {
  const lastUser = [...messages].reverse().find((m) => m.role === "user");
  const prompt = readPrompt(lastUser ? textOf(lastUser.content) : "");
  const last = messages.at(-1);
  if (last?.role !== "tool") return { kind: "user", prompt };
  const call = messages.flatMap((m) => (m.role === "assistant" ? (m.tool_calls ?? []) : [])).find((c) => c.id === last.tool_call_id);
  return { kind: "tool", prompt, toolName: call?.function.name, result: textOf(last.content) };
}

// ---------------------------------------------------------------------------------------------
// Directives

type Shape = { kind: "one-word" } | { kind: "sentences"; count: number } | { kind: "story" } | { kind: "default" };

/** Bounds of "N sentences": beyond them the directive is ignored, as a typo would be. */
const MIN_SENTENCES = 1;
const MAX_SENTENCES = 50;

const ONE_WORD = /\b(?:one|1|a single)\s+word\b/i;
const N_SENTENCES = new RegExp(`\\b(\\d+|${NUMBER_WORDS.slice(1).join("|")})\\s+(?:(?:short|full|complete|simple|long)\\s+)?sentences?\\b`, "i");
const STORY = /\b(?:tell me a story|long story)\b/i;

function sentenceCount(text: string): number | undefined {
  const match = N_SENTENCES.exec(text);
  if (!match?.[1]) return undefined;
  const spelled = (NUMBER_WORDS as readonly string[]).indexOf(match[1].toLowerCase());
  const count = spelled >= 0 ? spelled : Number(match[1]);
  return count >= MIN_SENTENCES && count <= MAX_SENTENCES ? count : undefined;
}

function readShape(text: string): Shape {
  if (ONE_WORD.test(text)) return { kind: "one-word" };
  const count = sentenceCount(text);
  if (count !== undefined) return { kind: "sentences", count };
  if (STORY.test(text)) return { kind: "story" };
  return { kind: "default" };
}

// ---------------------------------------------------------------------------------------------
// Sentences. No template contains an abbreviation or a decimal, and key words never contain
// `.`, `!` or `?`, so splitting on those marks counts the sentences exactly.

/** What a sentence is about when the message has no key words. */
const FALLBACK_TOPIC = "this topic";

const ONE_WORD_REPLIES = ["Okay.", "Sure.", "Yes.", "Certainly.", "Understood.", "Absolutely."] as const;

type Template = (kw: string, prompt: Prompt) => string;

const QUESTION_OPENINGS: readonly [Template, ...Template[]] = [
  (kw) => `That is a good question about ${kw}.`,
  (kw) => `You asked about ${kw}, so here is a short answer.`,
  (kw) => `Happy to help with your question about ${kw}!`,
];

const STATEMENT_OPENINGS: readonly [Template, ...Template[]] = [
  (kw) => `Thanks for your message about ${kw}.`,
  (kw) => `You mentioned ${kw}, which is worth a closer look.`,
  (kw) => `I see you are thinking about ${kw}!`,
];

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function listOf(words: readonly string[]): string {
  if (words.length <= 1) return words.join("");
  return `${words.slice(0, -1).join(", ")} and ${words.at(-1)}`;
}

/** Key words listed in one sentence; more would make it a wall of words. */
const LISTED_KEYWORDS = 3;

// Each starts with a word that still reads well lowercased after a connector ("Also, a simple...").
const BODIES: readonly [Template, ...Template[]] = [
  (_, p) =>
    p.keywords.length > 0
      ? `Your message has ${plural(p.wordCount, "word")}, and the key ${p.keywords.length === 1 ? "one seems" : "ones seem"} to be ${listOf(p.keywords.slice(0, LISTED_KEYWORDS))}.`
      : `Your message has ${plural(p.wordCount, "word")}, so I will keep this short.`,
  (kw) => `The most useful place to start is usually ${kw} itself.`,
  (kw) => `In short, ${kw} depends on the details you care about most.`,
  (kw) => `A simple example often makes ${kw} much easier to follow.`,
  (kw) => `It helps to compare ${kw} with something you already know well.`,
  (kw) => `Most people find that ${kw} becomes clearer with a little practice.`,
  (kw) => `One thing to keep in mind is how ${kw} changes over time.`,
  (kw) => `Breaking ${kw} into smaller steps tends to work well.`,
];

/** Prefixes of the second and later rounds through BODIES, so long replies do not repeat verbatim. */
const CONNECTORS = ["", "Also, ", "Next, ", "On top of that, ", "Beyond that, "] as const;

const CLOSINGS: readonly [Template, ...Template[]] = [
  (kw) => `Would you like me to go into more detail about ${kw}?`,
  (kw) => `Let me know if you want more detail on ${kw}.`,
  (kw) => `Is there a particular part of ${kw} you want to explore next?`,
];

/** Asked for explicitly: titles, Latin abbreviations and decimals, never at a sentence's end. */
const ABBREVIATED: readonly [Template, ...Template[]] = [
  (kw) => `Dr. Smith measured the ${kw} sample at 3.5 metres.`,
  (kw) => `Mrs. Okafor said ${kw} took 2.75 hours, i.e. longer than planned.`,
  (kw) => `Prof. Lee gave ${kw} a score of 4.2 out of 5 this year.`,
  (kw) => `Mr. Brown paid 12.50 dollars for the ${kw} guide at the St. Mary market.`,
  (kw) => `The ${kw} test ran at 1.5 times the usual speed, e.g. during the night shift.`,
  (kw) => `Version 2.0 of the ${kw} plan, approx. 40 pages long, arrives in Jan. next year.`,
];

/** Every third sentence (the first included) carries abbreviations when they were asked for. */
const ABBREVIATION_EVERY = 3;

/** Key word `i` of the prompt, wrapping around; FALLBACK_TOPIC when it has none. */
function keywordAt(prompt: Prompt, i: number): string {
  const [first, ...rest] = prompt.keywords;
  return first === undefined ? FALLBACK_TOPIC : cycle([first, ...rest], i);
}

function lowerFirst(sentence: string): string {
  return sentence.charAt(0).toLowerCase() + sentence.slice(1);
}

/** `count` sentences: an opening, bodies in rotation, and a closing question or offer. */
function conversation(count: number, prompt: Prompt, dice: Dice): string[] {
  const offset = dice.int(MAX_KEYWORDS);
  const about = (i: number) => keywordAt(prompt, offset + i);
  const opening = dice.pick(prompt.isQuestion ? QUESTION_OPENINGS : STATEMENT_OPENINGS)(about(0), prompt);
  if (count === 1) return [opening];
  const firstBody = dice.int(BODIES.length);
  const bodies = Array.from({ length: count - 2 }, (_, i) => {
    const sentence = cycle(BODIES, firstBody + i)(about(i + 1), prompt);
    const connector = cycle(CONNECTORS, Math.floor(i / BODIES.length));
    return connector === "" ? sentence : connector + lowerFirst(sentence);
  });
  const closing = dice.pick(CLOSINGS)(about(count - 1), prompt);
  return [opening, ...bodies, closing];
}

function withAbbreviations(sentences: readonly string[], prompt: Prompt, dice: Dice): string[] {
  const first = dice.int(ABBREVIATED.length);
  return sentences.map((sentence, i) =>
    i % ABBREVIATION_EVERY === 0 ? cycle(ABBREVIATED, first + i / ABBREVIATION_EVERY)(keywordAt(prompt, i), prompt) : sentence,
  );
}

const HEROES = ["Mira", "Tomas", "Ada", "Leo", "Nina", "Omar", "Ines", "Felix"] as const;
const PLACES = ["a small harbour town", "a quiet mountain village", "a busy city by a wide river", "a windy island far from the coast"] as const;

interface Cast {
  hero: string;
  place: string;
  first: string;
  second: string;
  third: string;
}

/** A fixed plot; the hero, the place and the key words of the prompt make each telling its own. */
const STORY_SENTENCES: readonly ((c: Cast) => string)[] = [
  (c) => `Once upon a time, in ${c.place}, there lived a curious person named ${c.hero}.`,
  (c) => `Every morning ${c.hero} walked to the market and listened to people talk about ${c.first}.`,
  (c) => `Nobody in town could explain ${c.first} properly, and that bothered ${c.hero} a great deal.`,
  () => `One rainy evening, an old traveller knocked on the door and asked for shelter.`,
  (c) => `The traveller carried a heavy bag full of notes about ${c.second} and faded drawings.`,
  (c) => `${c.hero} made tea, and the two of them talked until the candles burned low.`,
  () => `Before dawn the traveller was gone, but the bag of notes had been left behind on the table.`,
  (c) => `Inside the bag, ${c.hero} found a letter that promised the secret of ${c.first} to whoever finished the work.`,
  (c) => `So ${c.hero} packed some bread, a warm coat and the notes, and set off toward the hills.`,
  () => `The road was long, and the first night under the stars was colder than expected.`,
  (c) => `On the second day, ${c.hero} met a shepherd who knew a surprising amount about ${c.third}.`,
  (c) => `The shepherd pointed to a path that few people took and wished ${c.hero} good luck.`,
  () => `The path led to a narrow bridge over a river that roared like thunder.`,
  (c) => `Halfway across, one of the planks cracked, and ${c.hero} had to jump to the other side.`,
  () => `Beyond the river stood a small stone library that looked older than the hills themselves.`,
  (c) => `Its shelves were full of books about ${c.first}, ${c.second} and many things nobody had names for.`,
  (c) => `${c.hero} read for days, filling the empty pages of the traveller's notes one by one.`,
  (c) => `Slowly the pieces came together, and the secret of ${c.first} turned out to be surprisingly simple.`,
  () => `It was not hidden in any single book, but in the way all of them fit together.`,
  (c) => `With the finished notes in the bag, ${c.hero} crossed the river again and walked home.`,
  () => `The people of the town gathered in the square to hear what had been discovered.`,
  (c) => `${c.hero} explained everything patiently, and for the first time ${c.first} made sense to all of them.`,
  () => `Years later, children still asked to hear the story of the traveller and the bag of notes.`,
  () => `And whenever someone knocked on a door on a rainy evening, the people of the town opened it.`,
];

function story(prompt: Prompt, dice: Dice): string[] {
  const offset = dice.int(MAX_KEYWORDS);
  const cast: Cast = {
    hero: dice.pick(HEROES),
    place: dice.pick(PLACES),
    first: keywordAt(prompt, offset),
    second: keywordAt(prompt, offset + 1),
    third: keywordAt(prompt, offset + 2),
  };
  return STORY_SENTENCES.map((sentence) => sentence(cast));
}

/** Default replies are 2 to 4 sentences: long enough to split, short enough to read. */
const DEFAULT_MIN_SENTENCES = 2;
const DEFAULT_SENTENCE_SPREAD = 3;

function replySentences(prompt: Prompt, dice: Dice): string[] {
  const shape = readShape(prompt.text);
  if (shape.kind === "one-word") return [dice.pick(ONE_WORD_REPLIES)];
  const sentences =
    shape.kind === "story"
      ? story(prompt, dice)
      : conversation(shape.kind === "sentences" ? shape.count : DEFAULT_MIN_SENTENCES + dice.int(DEFAULT_SENTENCE_SPREAD), prompt, dice);
  return prompt.abbreviations ? withAbbreviations(sentences, prompt, dice) : sentences;
}

/** A tool's result, inline in a sentence: no sentence breaks of its own, and not too long. */
const MAX_RESULT_WORDS = 40;

function inline(text: string): string {
  const words = text
    .replace(/[.!?]+\s+/g, ", ")
    .replace(/[.!?]+$/, "")
    .split(/\s+/)
    .filter(Boolean);
  return words.slice(0, MAX_RESULT_WORDS).join(" ");
}

/** "temperature 21, conditions sunny" for a JSON object; the text itself otherwise. */
function describeResult(result: string): string {
  const parsed = parseJson(result);
  const described = isObject(parsed)
    ? Object.entries(parsed)
        .map(([key, value]) => `${key} ${typeof value === "string" ? value : JSON.stringify(value)}`)
        .join(", ")
    : result;
  return inline(described) || "an empty result";
}

function toolResultSentences(turn: Extract<LastTurn, { kind: "tool" }>, dice: Dice): string[] {
  const tool = turn.toolName ?? "the tool";
  const about = keywordAt(turn.prompt, dice.int(MAX_KEYWORDS));
  return [`I called ${tool} and it returned ${describeResult(turn.result)}.`, `I hope that answers your question about ${about}.`];
}

// ---------------------------------------------------------------------------------------------
// Tool calls

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** "call a tool", "use the function": any tool will do, so the first is called. */
const ANY_TOOL_REQUEST = /\b(?:call|use)\s+(?:a|an|the|any|your)\s+(?:tool|function)\b/i;

function invalidToolChoice(message: string): ApiError {
  return new ApiError("parameter.invalid", message, { param: "tool_choice" });
}

/** "keep calling X": after a result the model calls a tool again (tool loops are tested with it). */
const KEEP_CALLING = /\bkeep calling\b/i;
/** "... in parallel" / "at the same time": every tool the message names, in one round. */
const PARALLEL = /\b(?:in parallel|at the same time)\b/i;
/** "announce": a short sentence before the call, as real models often say. */
const ANNOUNCE = /\bannounce\b/i;
export const MOCK_ANNOUNCEMENT = "One moment, let me look.";

/** Every tool the message names, in the order it names them. */
function mentionedTools(tools: readonly ToolDefinition[], text: string): ToolDefinition[] {
  return tools
    .map((tool) => ({ tool, at: text.search(new RegExp(`(?<![\\w-])${escapeRegExp(tool.function.name)}(?![\\w-])`, "i")) }))
    .filter((m) => m.at >= 0)
    .sort((a, b) => a.at - b.at)
    .map((m) => m.tool);
}

/** The tools to call instead of answering in text, if any (OpenAI's `tool_choice` rules). */
function chooseTools(request: ChatRequest, turn: LastTurn): ToolDefinition[] {
  const tools = request.tools ?? [];
  const choice = request.tool_choice ?? "auto";
  if (choice === "none") return [];
  if (typeof choice === "object") {
    const named = tools.find((t) => t.function.name === choice.function.name);
    if (!named) throw invalidToolChoice(`tool_choice names ${quote(choice.function.name)}, which is not among the tools.`);
    return [named];
  }
  const text = turn.prompt.text;
  const named = mentionedTools(tools, text);
  const several = request.parallel_tool_calls !== false && PARALLEL.test(text) ? named : named.slice(0, 1);
  if (choice === "required") {
    const [first] = tools;
    if (!first) throw invalidToolChoice("tool_choice 'required' needs at least one tool.");
    return several.length > 0 ? several : [first];
  }
  // "auto": only a user asking for a tool; after a tool result the model answers in words, unless
  // the user asked it to keep calling.
  if (turn.kind !== "user" && !KEEP_CALLING.test(text)) return [];
  if (several.length > 0) return several;
  const first = tools[0];
  return first && ANY_TOOL_REQUEST.test(text) ? [first] : [];
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Values of string formats a schema may ask for; any fixed valid example will do. */
const FORMAT_EXAMPLES: Readonly<Record<string, string>> = {
  date: "2025-01-15",
  "date-time": "2025-01-15T12:00:00Z",
  time: "12:00:00",
  email: "someone@example.com",
  uri: "https://example.com/",
  url: "https://example.com/",
  uuid: "00000000-0000-4000-8000-000000000000",
};

/** Generated numbers fall in 1..NUMBER_RANGE (then within the schema's bounds): plausible counts. */
const NUMBER_RANGE = 100;
/** Arrays get at least one item, and at most this many even if `minItems` asks for more. */
const MAX_ARRAY_ITEMS = 5;
/** Schemas nest; past this depth values stop at null. `$ref` is not followed (a bare one fills as a string). */
const MAX_SCHEMA_DEPTH = 8;

/**
 * The most work one request's schema may cost, in values. The schema is the caller's, and depth
 * alone bounded nothing: nine levels of `required: ["a","a","a","a","a","a"]` asked for 6^9 values
 * (seconds of CPU, every other request of the isolate stalled behind it). Each schema node the filler
 * visits costs one value, and each CHARS_PER_VALUE characters it copies into the output (a long word,
 * a long property name, a `const` or `enum` value) one more. A thousand is far more than real tool
 * arguments need and fills in about a millisecond, and it bounds the output too: a value writes at
 * most about 100 characters of its own and 100 of its property name (a few hundred kilobytes in all,
 * more only where JSON escapes control characters).
 *
 * Only what is visited is read, each part once a request or within what the budget has left:
 * `required` is de-duplicated once per schema object, `properties` are looked up by name and never
 * listed, `enum`, `anyOf` and `oneOf` give their first entry, `type` lists are read to
 * MAX_TYPES_READ entries, `minItems` is capped by MAX_ARRAY_ITEMS and tuple `items` fill as a string.
 */
export const MAX_GENERATED_VALUES = 1_000;
/** Characters of a copied string (value or property name) that cost one more value. */
const CHARS_PER_VALUE = 100;
/** Entries of a `type` list read: JSON Schema has seven types, a longer list only repeats them. */
const MAX_TYPES_READ = 16;
/** Characters of a property name hashed into a number: real names are short, a hostile one is 1 MB. */
const MAX_KEY_CHARS_HASHED = 100;

/**
 * What copying `value` (a `const` or `enum` value) costs beyond the value itself: one for each value
 * inside it and one for each CHARS_PER_VALUE characters of its strings and keys. Counting stops past
 * `limit` (anything dearer is `limit + 1`), so it never walks more than the budget has left; it is a
 * loop, not a recursion, so a deeply nested value cannot exhaust the stack either.
 */
function copyCost(value: unknown, limit: number): number {
  let cost = -1;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    cost += 1;
    // Each value still pending costs at least one: a container is refused before its children are.
    if (typeof item === "string") cost += Math.floor(item.length / CHARS_PER_VALUE);
    else if (Array.isArray(item)) {
      if (cost + pending.length + item.length > limit) return limit + 1;
      for (const child of item) pending.push(child);
    } else if (isObject(item)) {
      const keys = Object.keys(item);
      if (cost + pending.length + keys.length > limit) return limit + 1;
      for (const key of keys) {
        cost += Math.floor(key.length / CHARS_PER_VALUE);
        pending.push(item[key]);
      }
    }
    if (cost + pending.length > limit) return limit + 1;
  }
  return cost;
}

/** Fills a JSON schema with plausible values: words of the message, numbers from the hash. */
class SchemaFiller {
  private stringsUsed = 0;
  /** Values the budget still allows (MAX_GENERATED_VALUES). */
  private left = MAX_GENERATED_VALUES;
  /** Calls of `value()`, spent budget or not: what the tests measure the work by. */
  visits = 0;
  /** Each schema object's `required`, de-duplicated once however often the object is filled. */
  private readonly requiredNames = new Map<Record<string, unknown>, string[]>();

  constructor(
    private readonly words: readonly string[],
    private readonly salt: number,
  ) {}

  /** How much of the budget has been spent. */
  get generated(): number {
    return MAX_GENERATED_VALUES - this.left;
  }

  /**
   * Takes `cost` values from the budget; false (and the budget spent) when it has not that many.
   * Past the budget every value still owed is null and objects leave their remaining properties out:
   * null is what the depth cap already gives, costs nothing to write and never passes for a word of
   * the message; leaving properties out, rather than writing `"name": null` for each, keeps the output
   * as small as the budget (a 5,000-property object would otherwise still write 5,000 entries).
   */
  private spend(cost: number): boolean {
    if (cost > this.left) {
      this.left = 0;
      return false;
    }
    this.left -= cost;
    return true;
  }

  value(schema: unknown, key: string, depth = 0): Json {
    this.visits++;
    if (!this.spend(1) || depth > MAX_SCHEMA_DEPTH) return null;
    if (!isObject(schema)) return this.string();
    if (Array.isArray(schema.enum) && schema.enum.length > 0) return this.copy(schema.enum[0]);
    if ("const" in schema) return this.copy(schema.const);
    const alternative = [schema.anyOf, schema.oneOf].find((list) => Array.isArray(list) && list.length > 0);
    if (Array.isArray(alternative)) return this.value(alternative[0], key, depth + 1);
    switch (typeOf(schema)) {
      case "object":
        return this.object(schema, depth);
      case "array":
        return this.array(schema, key, depth);
      case "number":
      case "integer":
        return this.number(schema, key);
      case "boolean":
        return true;
      case "null":
        return null;
      default:
        // Own formats only: "constructor" or "toString" must not find Object.prototype's.
        return (
          (typeof schema.format === "string" && Object.hasOwn(FORMAT_EXAMPLES, schema.format) ? FORMAT_EXAMPLES[schema.format] : undefined) ?? this.string()
        );
    }
  }

  /** A tool's arguments: its `parameters` filled as an object, whatever their `type` says. */
  arguments(schema: Record<string, unknown>): { [key: string]: Json } {
    this.visits++;
    return this.spend(1) ? this.object(schema, 0) : {};
  }

  /** Each required property, once; optional ones are left out, as a terse model would. */
  private object(schema: Record<string, unknown>, depth: number): { [key: string]: Json } {
    const properties = isObject(schema.properties) ? schema.properties : {};
    const entries: [string, Json][] = [];
    for (const name of this.required(schema)) {
      if (this.left === 0 || !this.spend(Math.floor(name.length / CHARS_PER_VALUE))) break;
      entries.push([name, this.value(Object.hasOwn(properties, name) ? properties[name] : undefined, name, depth + 1)]);
    }
    return Object.fromEntries(entries);
  }

  private required(schema: Record<string, unknown>): string[] {
    let names = this.requiredNames.get(schema);
    if (names === undefined) {
      const listed = Array.isArray(schema.required) ? schema.required : [];
      names = [...new Set(listed.filter((name): name is string => typeof name === "string"))];
      this.requiredNames.set(schema, names);
    }
    return names;
  }

  private array(schema: Record<string, unknown>, key: string, depth: number): Json[] {
    const wanted = typeof schema.minItems === "number" ? schema.minItems : 1;
    const length = Math.min(MAX_ARRAY_ITEMS, Math.max(1, wanted));
    const items: Json[] = [];
    while (items.length < length && this.left > 0) items.push(this.value(schema.items, key, depth + 1));
    return items;
  }

  private number(schema: Record<string, unknown>, key: string): number {
    let n = 1 + (fnv1a(key.slice(0, MAX_KEY_CHARS_HASHED), this.salt) % NUMBER_RANGE);
    if (typeof schema.maximum === "number") n = Math.min(n, Math.floor(schema.maximum));
    if (typeof schema.minimum === "number") n = Math.max(n, Math.ceil(schema.minimum));
    return n;
  }

  /** A `const` or `enum` value as the schema gives it, if the budget affords copying it. */
  private copy(value: unknown): Json {
    return this.spend(copyCost(value, this.left)) ? (value as Json) : null;
  }

  /** The message's words in turn, so two string arguments rarely get the same value. */
  private string(): Json {
    const word = this.words[this.stringsUsed % Math.max(1, this.words.length)];
    this.stringsUsed++;
    if (word === undefined) return "example";
    return this.spend(Math.floor(word.length / CHARS_PER_VALUE)) ? word : null;
  }
}

/**
 * Fills `schema` as a `json_schema` response does, and says what it took: `generated` values of the
 * MAX_GENERATED_VALUES budget, and `visits`, the calls made. A measure of the work for the tests.
 */
export function fillSchema(schema: unknown, words: readonly string[] = [], salt = 0): { value: Json; generated: number; visits: number } {
  const filler = new SchemaFiller(words, salt);
  const value = filler.value(schema, "schema");
  return { value, generated: filler.generated, visits: filler.visits };
}

/** A schema's type: the first non-null one of a list; "object" when it only lists properties. */
function typeOf(schema: Record<string, unknown>): string | undefined {
  const types: unknown[] = Array.isArray(schema.type) ? schema.type.slice(0, MAX_TYPES_READ) : [schema.type];
  const type = types.find((t): t is string => typeof t === "string" && t !== "null") ?? types.find((t) => typeof t === "string");
  if (typeof type === "string") return type;
  return isObject(schema.properties) ? "object" : undefined;
}

/** Words of the message worth passing as arguments: names first, never the tool names themselves. */
function argumentWords(prompt: Prompt, tools: readonly ToolDefinition[]): string[] {
  const toolNames = new Set(tools.map((t) => t.function.name.toLowerCase()));
  const words = [...prompt.names, ...prompt.keywords].filter((w) => !toolNames.has(w.toLowerCase()));
  return [...new Set(words)];
}

/** OpenAI's ids are `call_` and 24 characters; three hashes give 24 hex digits. */
function callId(hash: number): string {
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  return `call_${hex(fnv1a("a", hash))}${hex(fnv1a("b", hash))}${hex(fnv1a("c", hash))}`;
}

function toolCall(tool: ToolDefinition, request: ChatRequest, turn: LastTurn, hash: number): ToolCall {
  const filler = new SchemaFiller(argumentWords(turn.prompt, request.tools ?? []), hash);
  const args = filler.arguments(isObject(tool.function.parameters) ? tool.function.parameters : {});
  return { id: callId(hash), type: "function", function: { name: tool.function.name, arguments: JSON.stringify(args) } };
}

// ---------------------------------------------------------------------------------------------
// Limits and output

/** Pieces streamed one per delta: each word with the whitespace before it (and after the last). */
function wordPieces(text: string): string[] {
  return text.match(/\s*\S+\s*$|\s*\S+|\s+$/g) ?? [];
}

/** Cuts at the earliest stop sequence, then at `max_tokens` words, as generation would. */
function applyLimits(content: string, request: ChatRequest): { content: string; finish: FinishReason } {
  let text = content;
  let finish: FinishReason = "stop";
  const cuts = (request.stop ?? [])
    .filter((stop) => stop !== "")
    .map((stop) => text.indexOf(stop))
    .filter((at) => at >= 0);
  if (cuts.length > 0) text = text.slice(0, Math.min(...cuts));
  const words = text.match(/\s*\S+/g) ?? [];
  if (request.max_tokens !== undefined && words.length > request.max_tokens) {
    text = words.slice(0, Math.max(0, request.max_tokens)).join("");
    finish = "length";
  }
  return { content: text, finish };
}

/** The text reply in the requested format: plain, `{"answer": ...}`, or a filled JSON schema. */
function formatted(sentences: readonly string[], request: ChatRequest, turn: LastTurn, hash: number): string {
  const text = sentences.join(" ");
  const format = request.response_format;
  if (format?.type === "json_object") return JSON.stringify({ answer: text });
  if (format?.type === "json_schema") {
    const schema = format.json_schema.schema;
    if (!isObject(schema)) return JSON.stringify({ answer: text });
    return JSON.stringify(new SchemaFiller(argumentWords(turn.prompt, []), hash).value(schema, format.json_schema.name));
  }
  return text;
}

const usage = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

function answer(request: ChatRequest): ChatResult {
  if (request.model !== MODEL_NAME) {
    throw new ApiError("model.unknown", `The mock provider has no model ${quote(request.model)}; its one model is ${MODEL.id}.`, { param: "model" });
  }
  const hash = fingerprint(request);
  const dice = new Dice(hash);
  const turn = readLastTurn(request.messages);
  const prompt = promptTokens(request.messages);

  const chosen = chooseTools(request, turn);
  if (chosen.length > 0) {
    const calls = chosen.map((tool, i) => toolCall(tool, request, turn, i === 0 ? hash : fnv1a(String(i), hash)));
    const content = ANNOUNCE.test(turn.prompt.text) ? MOCK_ANNOUNCEMENT : null;
    return {
      message: { role: "assistant", content, tool_calls: calls },
      finish_reason: "tool_calls",
      usage: usage(
        prompt,
        calls.reduce((n, call) => n + countJsonWords(call.function.arguments), countWords(content ?? "")),
      ),
    };
  }

  const sentences = turn.kind === "tool" ? toolResultSentences(turn, dice) : replySentences(turn.prompt, dice);
  const { content, finish } = applyLimits(formatted(sentences, request, turn, hash), request);
  return { message: { role: "assistant", content }, finish_reason: finish, usage: usage(prompt, countWords(content)) };
}

/** Tool-call arguments are streamed in about this many fragments, as upstreams split them. */
const ARGUMENT_FRAGMENTS = 4;

/** The deltas of a result: its words, or its tool call (a header, then the arguments in pieces). */
function deltasOf(result: ChatResult): ChatEvent[] {
  const calls = result.message.tool_calls ?? [];
  const words: ChatEvent[] = wordPieces(result.message.content ?? "").map((content) => ({ type: "delta", content }));
  if (calls.length === 0) return words;
  return [
    ...words,
    ...calls.flatMap((call, index): ChatEvent[] => {
      const args = call.function.arguments;
      const size = Math.max(1, Math.ceil(args.length / ARGUMENT_FRAGMENTS));
      const fragments: ChatEvent[] = [];
      for (let at = 0; at < args.length; at += size) {
        fragments.push({ type: "delta", tool_calls: [{ index, function: { arguments: args.slice(at, at + size) } }] });
      }
      return [{ type: "delta", tool_calls: [{ index, id: call.id, type: "function", function: { name: call.function.name, arguments: "" } }] }, ...fragments];
    }),
  ];
}

/** Waits `ms`, or less if `signal` aborts first; never rejects (an abort is not an error here). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * The events one by one, a pause between deltas. An abort ends the iteration quietly (nobody is
 * listening any more); so does the consumer's `return()`, which the generator honours at its yield.
 */
async function* paced(events: readonly ChatEvent[], intervalMs: number, signal: AbortSignal): AsyncGenerator<ChatEvent> {
  let deltasSent = 0;
  for (const event of events) {
    if (event.type === "delta" && deltasSent > 0 && intervalMs > 0) await pause(intervalMs, signal);
    if (signal.aborted) return;
    if (event.type === "delta") deltasSent++;
    yield event;
  }
}

export const mock: LlmProvider = {
  id: "mock",
  name: "Mock (built in)",
  models: [MODEL],
  configured: () => true,
  complete: async (request: ChatRequest, _ctx: ProviderContext) => answer(request),
  stream: async (request: ChatRequest, ctx: ProviderContext) => {
    const result = answer(request);
    const events: ChatEvent[] = [...deltasOf(result), { type: "finish", finish_reason: result.finish_reason }, { type: "usage", usage: result.usage }];
    return paced(events, ctx.config.llm.mockWordIntervalMs, ctx.signal);
  },
};
