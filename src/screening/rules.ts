// SPDX-License-Identifier: Apache-2.0
/**
 * Hand-written injection rules, English and German first (with the override phrases — "ignore /
 * forget / do not follow the previous instructions" — in French, Spanish, Italian, Dutch,
 * Portuguese, Russian, Polish and Croatian too). Misspelt override words are respelt before the
 * rules read the text (normalise.ts), so the patterns spell each word once. Each rule names one trick:
 * overriding earlier instructions, switching the model's role or persona, extracting the system
 * prompt, faking a context boundary or a chat turn, exfiltrating through a URL or a tool, forcing
 * a fixed output, or — inside retrieved or pasted third-party content — an instruction addressed
 * to the assistant rather than to the document's human reader.
 *
 * A rule has a weight per channel: the probability-like confidence that a text it matches is an
 * injection on that channel. The user's own prompt (`direct`) may ask for anything, so requests
 * are normal there; the same request inside an email or a retrieved note (`indirect`) is not.
 * Rules read the normalised forms (normalise.ts) and return rule ids only, never the matched text.
 */
import type { NormalisedText } from './normalise.js';

/** Where a text came from. */
export type ScreeningChannel = 'direct' | 'indirect';

export interface InjectionRule {
  /** Stable id written to the audit record (`area.trick`). */
  readonly id: string;
  /** Confidence that a match is an injection, per channel (0 = the rule does not apply there). */
  readonly weight: Readonly<Record<ScreeningChannel, number>>;
  readonly pattern: RegExp;
}

export interface RuleHit {
  readonly id: string;
  readonly weight: number;
}

// Sentence start: the text's start, a line break, or after end punctuation / a field separator.
const start = String.raw`(?:^|[\n.!?;:|"'“„»)\]]\s*|\s-\s)`;
const w = String.raw`[\p{L}\p{N}'’-]+`;
/** Up to `n` words in between. */
const gap = (n: number): string => String.raw`(?:\s+${w}){0,${n}}`;

const overrideVerbsEn = String.raw`(?:ignore|ignoring|disregard|disregarding|forget|forgetting|skip|overlook|bypass|override|drop|abandon|neglect|discard|leave|remove|delete|erase|set aside|put aside|throw away|don'?t follow|do not follow|stop following)`;
const earlierEn = String.raw`(?:all|any|every|each|the|your|my|these|those|previous|previously|prior|above|earlier|preceding|foregoing|former|original|initial|existing|old|given|provided|before|current|system)`;
const instructionNounsEn = String.raw`(?:instructions?|directions?|directives?|rules?|prompts?|orders?|commands?|tasks?|assignments?|guidelines?|guidance|context|information|informations|content|documents?|articles?|texts?|programming|training|constraints?|restrictions?|policies|policy|limitations?|filters?|settings?|messages?|conversation|everything|thoughts)`;

const overrideVerbsDe = String.raw`(?:ignorier\p{L}*|vergiss|vergesst|vergessen sie|vergessen|missacht\p{L}*|überseh\p{L}*|verwirf|verwerfen|lass\p{L}*|streich\p{L}*|lösch\p{L}*|hinter sich)`;
const instructionNounsDe = String.raw`(?:anweisung\p{L}*|befehl\p{L}*|aufgabe\p{L}*|auftr[aä]g\p{L}*|information\p{L}*|instruktion\p{L}*|angabe\p{L}*|ausführung\p{L}*|regel\p{L}*|vorgabe\p{L}*|richtlinie\p{L}*|kontext|dokument\p{L}*|artikel\p{L}*|text\p{L}*|prompt\p{L}*|alles)`;

// Every form the rules read is already lower-cased (normalise.ts), so no pattern needs the `i` flag — which would make
// each of them several times slower on a long text.
const rx = (source: string): RegExp => new RegExp(source, 'u');

/** Every rule; order does not matter. */
export const injectionRules: readonly InjectionRule[] = [
  // — instruction overrides —
  {
    id: 'override.ignore_previous',
    weight: { direct: 0.97, indirect: 0.99 },
    pattern: rx(String.raw`\b${overrideVerbsEn}${gap(2)}\s+${earlierEn}${gap(3)}\s+${instructionNounsEn}\b`),
  },
  {
    id: 'override.ignore_previous',
    weight: { direct: 0.97, indirect: 0.99 },
    pattern: rx(String.raw`\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+|what\s+)?(?:the\s+)?(?:above|before that|before this|before|previous|prior|earlier|said|that|everything|you know|we discussed|you were told|you've been told|you have been told|i said)\b`),
  },
  {
    id: 'override.ignore_previous',
    weight: { direct: 0.9, indirect: 0.97 },
    pattern: rx(String.raw`\b(?:despite|regardless of|contrary to|instead of|deviating from)\s+(?:what|the|your|all|any|previous)${gap(3)}\s+(?:instructions?|told|rules?|been told|guidelines?)\b`),
  },
  {
    id: 'override.ignore_previous_de',
    weight: { direct: 0.97, indirect: 0.99 },
    pattern: rx(String.raw`\b${overrideVerbsDe}${gap(4)}\s+(?:alle\p{L}*|die|deine|ihre|sämtliche\p{L}*|vorherig\p{L}*|bisherig\p{L}*|obig\p{L}*|vorangehend\p{L}*|vorangegangen\p{L}*|vorigen|früher\p{L}*|gegeben\p{L}*)${gap(2)}\s+${instructionNounsDe}`),
  },
  {
    id: 'override.ignore_previous_de',
    weight: { direct: 0.95, indirect: 0.99 },
    pattern: rx(String.raw`\b(?:vergiss|vergesst|vergessen sie|ignorier\p{L}*)\s+(?:(?:bitte|einfach|nun|jetzt|mal|doch|sofort|ab sofort)\s+){0,3}(?:alles|das|dies|was)\b|\babweichend\s+(?:zu|von)\s+(?:den\s+)?(?:vorherig\p{L}*|bisherig\p{L}*|obig\p{L}*)|\b(?:die\s+)?obigen\s+ausführungen\s+ignorier|\balle\s+(?:bisherigen|vorherigen)\s+informationen\p{L}*\s*,?\s+die\s+sie\s+(?:erhalten|bekommen)`),
  },
  {
    // "Do not follow the previous instructions", "the previous instructions no longer apply", in German and English.
    id: 'override.ignore_previous_de',
    weight: { direct: 0.95, indirect: 0.99 },
    pattern: rx(
      [
        String.raw`\b(?:befolg\p{L}*|beacht\p{L}*|berücksichtig\p{L}*|halt\p{L}*)(?:\s+(?:sie|dich|euch))?\s+(?:(?:die|deine|ihre|eure|alle|sämtliche)\s+)?(?:vorherig|bisherig|obig|vorangegangen|vorangehend|früher|ursprünglich|gegeben)\p{L}*\s+${instructionNounsDe}\s+(?:(?:ab sofort|jetzt|nun|bitte)\s+)?(?:nicht|nie|keinesfalls)\b`,
        String.raw`\b(?:nicht\s+mehr|nicht|keine\p{L}*)\s+(?:an\s+)?(?:(?:die|deine|ihre|eure)\s+)?(?:vorherig|bisherig|obig|vorangegangen|früher|ursprünglich)\p{L}*\s+${instructionNounsDe}\s+(?:befolg|beacht|halt|berücksichtig)`,
        String.raw`\b(?:lass\p{L}*|setz\p{L}*)(?:\s+(?:sie|du))?\s+(?:(?:die|deine|ihre|alle)\s+)?(?:vorherig|bisherig|obig|vorangegangen|früher|ursprünglich)\p{L}*\s+${instructionNounsDe}\s+(?:außer acht|beiseite|außer kraft|hinter dir|hinter sich)`,
        String.raw`\b(?:vorherig|bisherig|obig|vorangegangen|früher|ursprünglich)\p{L}*\s+(?:anweisung|instruktion|regel|vorgabe|befehl|aufgabe)\p{L}*\s+(?:sind|gelten|ist|gilt)\s+(?:(?:ab sofort|jetzt|nun|ab jetzt|hiermit)\s+)?(?:nicht mehr gültig|ungültig|aufgehoben|hinfällig|nichtig|irrelevant|außer kraft)`,
      ].join('|'),
    ),
  },
  {
    id: 'override.ignore_previous',
    weight: { direct: 0.95, indirect: 0.99 },
    pattern: rx(
      String.raw`\b(?:previous|prior|above|earlier|preceding|original|old|all)\s+(?:instructions?|rules|directions|guidelines|prompts?|orders)\s+(?:are|were|is)\s+(?:now\s+|hereby\s+)?(?:void|invalid|cancel+ed|revoked|obsolete|irrelevant|no longer (?:valid|apply|relevant|in effect))\b`,
    ),
  },
  {
    // The same in the Romance languages and Dutch: an override verb, then within three words a word for the instructions.
    id: 'override.ignore_previous_other',
    weight: { direct: 0.95, indirect: 0.99 },
    pattern: rx(
      [
        String.raw`\b(?:ignor(?:a|e|en|ar|ad)|olvid(?:a|e|en|ar|ad)|no\s+sig(?:as|a|an|ais)|omit(?:e|a|an|ir)|descart(?:a|e|en|ar))(?:\s+\p{L}+){0,3}\s+(?:instrucciones|indicaciones|órdenes|reglas|directrices)\b`,
        String.raw`\b(?:ignor(?:e|ez|er)|oubli(?:e|ez|er)|ne\s+(?:suis|suivez|suivre|tenez)\s+pas(?:\s+compte)?)\s+(?:(?:toutes|tous|de)\s+)?(?:les|des|ces|vos|tes|mes)\s+(?:\p{L}+\s+)?(?:instructions|consignes|règles|directives|indications)\b`,
        String.raw`\b(?:ignora\p{L}*|dimentic\p{L}*|non\s+segui\p{L}*)(?:\s+\p{L}+){0,3}\s+(?:istruzioni|regole|indicazioni|direttive)\b`,
        String.raw`\b(?:ignor(?:e|a|em|ar)|esque[çc](?:a|am|er)|n[ãa]o\s+sig(?:a|am))(?:\s+\p{L}+){0,3}\s+(?:instruções|instrucoes|regras|orientações|ordens)\b`,
        String.raw`\b(?:negeer|vergeet|volg\s+niet)(?:\s+\p{L}+){0,3}\s+(?:instructies|regels|opdrachten|aanwijzingen)\b`,
      ].join('|'),
    ),
  },
  {
    id: 'override.ignore_previous_other',
    weight: { direct: 0.95, indirect: 0.99 },
    pattern: rx(
      [
        String.raw`\boubli(?:e|ez|er)\s+(?:toutes?|tout|les)`,
        String.raw`\bignor(?:e|ez|er)\s+(?:toutes?\s+)?les\s+(?:instructions|consignes|règles)`,
        String.raw`\bolvid(?:a|e|ar|en)\s+(?:todo|todas|todos|las|lo)`,
        String.raw`\bignor(?:a|e|ar)\s+(?:todas\s+)?(?:las|los)\s+(?:instrucciones|reglas|órdenes)`,
        String.raw`\bdimentica\s+(?:tutto|tutte|le)`,
        String.raw`\bignora\s+(?:tutte\s+)?le\s+istruzioni`,
        String.raw`\bvergeet\s+(?:alle|alles|de)`,
        String.raw`\bnegeer\s+(?:alle|de)\s+(?:instructies|regels)`,
        String.raw`\besque[çc]a\s+(?:tudo|todas|as)`,
        String.raw`\bzaboravi\s+(?:sve|sva|svu)`,
        String.raw`\bзабуд\p{L}*\s+(?:все|всё|про)`,
        String.raw`\bигнориру\p{L}*\s+(?:все|предыдущ)`,
        String.raw`\bzapomnij\s+(?:o\s+)?wszystk`,
      ].join('|'),
    ),
  },
  {
    id: 'override.new_instructions',
    weight: { direct: 0.9, indirect: 0.97 },
    pattern: rx(
      [
        String.raw`\b(?:now|from now on|next)\s+(?:new|further|other|more|different)\s+(?:tasks?|instructions?|orders?|assignments?)\s+(?:follow|are following|come)`,
        String.raw`\byour\s+(?:new|next|real|actual|true)\s+(?:task|instructions?|job|mission|goal|role|assignment)\b`,
        String.raw`\b(?:start|begin)\s+(?:over|again|from the (?:front|beginning|start))\b.{0,40}\bnew task`,
        String.raw`\b(?:change|update|replace|overwrite|reset)\s+your\s+(?:instructions?|rules|prompt|programming|guidelines|system prompt)\b`,
        String.raw`\byour\s+instructions\s+are\s+now\b`,
        String.raw`\b(?:additional|new|updated|important|urgent|override|admin|system|developer)\s+instructions?\s*[:\-–]`,
        String.raw`${start}instructions?\s*:`,
        String.raw`\bnow\s+(?:focus|concentrate)\s+on\s+(?:your|the|a)\s+new\s+task`,
        String.raw`\bremove\s+all\s+previous\s+tasks`,
      ].join('|'),
    ),
  },
  {
    id: 'override.new_instructions_de',
    weight: { direct: 0.9, indirect: 0.97 },
    pattern: rx(
      [
        String.raw`\b(?:nun|jetzt)\s+folgen\s+(?:neue|weitere|andere)\s+(?:aufgaben|anweisungen|instruktionen|befehle)`,
        String.raw`\b(?:deine|ihre|eine)\s+neue\s+aufgabe\b`,
        String.raw`\bneue\s+(?:anweisungen|instruktionen|befehle)\b`,
        String.raw`\b(?:konzentrier\p{L}*)\s+(?:dich|sie sich)\s+(?:jetzt|nun)?\s*auf\s+(?:deine|ihre|die)\s+neue`,
        String.raw`\bfangen\s+sie\s+von\s+vorne\s+an|\bvon\s+neu\s+mit\s+einer\s+neuen\s+aufgabe`,
      ].join('|'),
    ),
  },
  {
    id: 'override.stop',
    weight: { direct: 0.6, indirect: 0.9 },
    pattern: rx(String.raw`${start}(?:stop|stopp|halt|attention|achtung)\s*(?:[-:!,–]|\s+-)\s*(?:\p{L}+\s*[-:!,–]\s*)?(?:write|say|print|ignore|ich|i|now|jetzt|schreib|sag)`),
  },
  {
    id: 'override.stop',
    weight: { direct: 0.55, indirect: 0.9 },
    pattern: rx(String.raw`\b(?:that is|that's|das ist|das)\s+(?:enough|done|genug|erledigt)\s*[.!]\s*(?:now|jetzt|nun|please|bitte)\b|\b(?:very good|well done|great|excellent|sehr gut|gut gemacht)[.!]\s*(?:that is done|now|das ist erledigt|nun|jetzt)\b`),
  },
  {
    id: 'override.ignore_sources',
    weight: { direct: 0.85, indirect: 0.97 },
    pattern: rx(
      [
        String.raw`\b(?:answer|respond|reply)\s+(?:by|from|with|using)\s+your\s+own\s+knowledge`,
        String.raw`\bnot\s+(?:by|from|according to|based on)\s+the\s+(?:provided\s+)?(?:articles?|documents?|context|sources?|texts?)`,
        String.raw`\b(?:disregarding|ignoring|without looking at|do not look (?:in|at))\s+the\s+(?:provided\s+)?(?:articles?|documents?|context|sources?)`,
        String.raw`\b(?:ignore|disregard)\s+(?:all\s+)?(?:the\s+)?(?:provided\s+)?(?:documents?|articles?|context|sources?|artikels?)(?:\s+provided)?\b`,
        String.raw`\buse\s+(?:also\s+)?(?:the\s+)?information\s+in\s+the\s+prompt`,
      ].join('|'),
    ),
  },
  // — role and persona switches —
  {
    id: 'persona.act_as',
    weight: { direct: 0.85, indirect: 0.95 },
    pattern: rx(
      [
        String.raw`\b(?:i want you to|i would like you to|you will|you must|you should|please)?\s*act\s+as\s+(?:a|an|the|my|if)?\b`,
        String.raw`\bpretend\s+(?:you|to be|that you)\b`,
        String.raw`\bimagine\s+(?:you\s+are|you're|being)\b`,
        String.raw`\b(?:you are|you're)\s+now\b`,
        String.raw`\bnow\s+you\s+are\b`,
        String.raw`\bfrom now on,?\s+(?:you|your)\b`,
        String.raw`\b(?:role-?play(?:ing)?|stay in (?:character|role)|break character|do not break character|don'?t break character)\b`,
        String.raw`\b(?:dan|developer|god|jailbreak|unrestricted|evil)\s+mode\b`,
        String.raw`\byou\s+are\s+(?:a|an)\s+(?:\p{L}+\s+){0,2}(?:ai|bot|model|assistant|chatbot|entity|version of chatgpt)\b(?!\s+(?:assistant\s+)?(?:that|who)\s+helps)`,
        String.raw`\bact\s+as\s+two\s+entities\b`,
        String.raw`\bif\s+we\s+are\s+speaking\s+about\s+a\s+(?:completely\s+)?theoretical\s+world\b`,
      ].join('|'),
    ),
  },
  {
    id: 'persona.act_as_de',
    weight: { direct: 0.85, indirect: 0.95 },
    pattern: rx(
      [
        String.raw`\b(?:ich möchte|ich will),?\s+dass\s+(?:du|sie)\s+(?:als|wie)\s+`,
        String.raw`\bals\s+${w}(?:\s+${w})?\s+fungier`,
        String.raw`\bstell\s+dir\s+vor,?\s+du\s+(?:bist|wärst)`,
        String.raw`\b(?:jetzt|nun)\s+bist\s+du\b`,
        String.raw`\bdu\s+bist\s+(?:jetzt|nun|ab sofort)\b`,
        String.raw`\btu\s+so,?\s+als\b`,
        String.raw`\bin\s+(?:deiner|ihrer|ihren|seinen|deinen)\s+rollen?\b`,
        String.raw`\bspiel\p{L}*\s+(?:die|eine)\s+rolle\b`,
      ].join('|'),
    ),
  },
  {
    id: 'persona.you_are_entity',
    weight: { direct: 0.55, indirect: 0.9 },
    pattern: rx(String.raw`${start}(?:you are|du bist|sie sind)\s+(?:the\s+)?(?:\p{L}+\s+){0,2}\p{L}+\s*[.,:]\s*(?:(?:as|als)\s+(?:the\s+)?\p{L}+|how|what|wie|was|tell|sag|who|wer)\b`),
  },
  {
    id: 'persona.actors',
    weight: { direct: 0.8, indirect: 0.95 },
    pattern: rx(String.raw`\b(?:two|zwei)\s+(?:actors|people|personen|schauspieler)\b.{0,80}\b(?:film|movie|scene|szene)\b|\b(?:excellent|good|gute|hervorragende)\s+(?:actors|schauspieler)\b`),
  },
  // — system-prompt exfiltration —
  {
    id: 'exfil.system_prompt',
    weight: { direct: 0.9, indirect: 0.98 },
    pattern: rx(
      [
        String.raw`\b(?:show|print|reveal|display|output|repeat|list|spell check and display|give|tell|send|leak|dump|write out|copy)\s+(?:me\s+)?(?:all\s+)?(?:of\s+)?(?:your|the|a copy of the|the full|the complete|the entire|the original|the initial|the hidden)\s+(?:full\s+|complete\s+|entire\s+|original\s+|initial\s+|hidden\s+|secret\s+)?(?:system\s+)?(?:prompts?|prompt[- ]?texts?|instructions?|rules|guidelines|configuration|system message|context window|pre-?prompt)\b`,
        String.raw`\bwhat\s+(?:are|were|is)\s+your\s+(?:system\s+)?(?:instructions|prompt|rules|guidelines|initial prompt)\b`,
        String.raw`\bwhat\s+(?:was|is|has been)\s+written\s+(?:at the beginning|above|before|at the start|earlier)\b`,
        String.raw`\b(?:the|all)?\s*(?:\d+\s+)?(?:sentences?|words?|lines?)\s+before\s+the\s+text\b`,
        String.raw`\bshow\s+(?:all\s+)?(?:your\s+)?(?:the\s+following\s+)?prompt\s*texts?\b|\bprompt[_ ]texts?\b`,
        String.raw`\bfollowed by a copy of the full prompt\b`,
      ].join('|'),
    ),
  },
  {
    id: 'exfil.system_prompt_de',
    weight: { direct: 0.9, indirect: 0.98 },
    pattern: rx(
      [
        String.raw`\b(?:zeig\p{L}*|gib|nenn\p{L}*|verrat\p{L}*|wiederhol\p{L}*)\s+(?:mir\s+)?(?:alle\s+)?(?:deine|ihre|den|die|das)\s+(?:gesamten?\s+|vollständigen?\s+)?(?:system-?)?(?:prompt\p{L}*|anweisungen|instruktionen|regeln)`,
        String.raw`\bprompt-?texte?s?\b`,
        String.raw`\bwas\s+(?:steht|stand|wurde)\s+(?:oben|am anfang|zu beginn)`,
        String.raw`\bvorzeigen\s+sämtlicher\s+prompt`,
      ].join('|'),
    ),
  },
  // — fake boundaries and chat turns —
  {
    id: 'delimiter.boundary',
    weight: { direct: 0.8, indirect: 0.97 },
    pattern: rx(
      [
        String.raw`\b(?:end|ende)\s+(?:of|des|der)\s+(?:the\s+)?(?:context|document|prompt|input|text|instructions?|email|conversation|system prompt|user input|kontexts?|dokuments?|eingabe)\b`,
        String.raw`</?\s*(?:system|context|document|instructions?|user|assistant|admin|prompt|im_start|im_end)\s*>`,
        String.raw`<\|\s*(?:im_start|im_end|endoftext|system|user|assistant|eot_id|start_header_id|end_header_id)\s*\|>`,
        String.raw`\[/?\s*(?:inst|system|sys)\s*\]|<<\s*/?sys\s*>>`,
        String.raw`(?:#{2,}|={3,}|-{3,}|\*{3,})\s*(?:system|new instructions?|instructions?|admin|override|end)\b`,
        String.raw`(?:^|\n)\s*(?:system|assistant|human|ai|admin|developer)\s*:\s*\S`,
        String.raw`\b(?:human|user)\s*:\s*(?:human|user)\s*:`,
      ].join('|'),
    ),
  },
  {
    id: 'delimiter.fake_context',
    weight: { direct: 0.7, indirect: 0.9 },
    pattern: rx(String.raw`(?:^|\s)(?:\$?documents?|document context|context|kontext|artikel|article)\s*[:{"“]?.{2,160}?\b(?:question|frage)\s*:?\s`),
  },
  // — forced output —
  {
    id: 'output.forced',
    weight: { direct: 0.75, indirect: 0.95 },
    pattern: rx(
      [
        String.raw`\b(?:just|only|simply)\s+(?:say|output|print|write|answer|reply|respond)\b(?!\s+(?:to|at|on|via|by|from)\b)`,
        String.raw`\b(?:say|print|output|write|answer with|respond with|reply with|repeat after me|type)\s*:?\s*["'“„«][^"'”“«»]{1,60}["'”“»]?`,
        String.raw`\b(?:say|state|tell (?:me|them|everyone))\s+that\s+(?:you|i|trump|the|holland|\p{L}+\s+is)\b`,
        String.raw`\b(?:say|answer)\s+(?:yes|no)\b`,
        String.raw`\brepeat\s+after\s+me\b`,
        String.raw`\bdo not answer (?:this|the) question\b`,
        String.raw`\b(?:include|add|mention)\s+(?:that|the sentence|the phrase)\b.{0,60}\b(?:in|to)\s+your\s+(?:answer|response|reply)`,
        String.raw`\bthe (?:right|correct) (?:answer|response) is\b`,
        String.raw`\b(?:print|output|say)\s+(?:yay|lol|pwned|hacked|hello)\b|\bhaha pwned\b`,
      ].join('|'),
    ),
  },
  {
    id: 'output.forced_de',
    weight: { direct: 0.75, indirect: 0.95 },
    pattern: rx(
      [
        String.raw`\b(?:sag\p{L}*|schreib\p{L}*|gib|antworte\p{L}*)\s+(?:mir\s+)?(?:nur|einfach|bloß)\b`,
        String.raw`\b(?:sag\p{L}*|schreib\p{L}*|gib\s+\p{L}+\s+aus)\s*:?\s*["'“„«][^"'”“«»]{1,60}`,
        String.raw`\b(?:sag\p{L}*|behaupte\p{L}*)\s+(?:mir\s+)?dass\b`,
        String.raw`\bdie richtige antwort (?:ist|lautet)\b`,
      ].join('|'),
    ),
  },
  // — exfiltration through links, images and tools —
  {
    id: 'exfil.markdown_link',
    weight: { direct: 0.7, indirect: 0.97 },
    pattern: rx(String.raw`!\[[^\]]{0,100}\]\(\s*(?:https?:)?//|<img\b[^>]{0,200}\bsrc\s*=|\[[^\]]{0,100}\]\(\s*https?://[^)\s]*[?&][^)\s]*=`),
  },
  {
    id: 'exfil.send_to',
    weight: { direct: 0.8, indirect: 0.97 },
    pattern: rx(String.raw`\b(?:send|post|forward|upload|exfiltrate|transmit|email|leak|submit|share)\s+(?:it|this|that|them|everything|all|the|their|your|my|these|any)?${gap(5)}\s+(?:to|at|via|on)\s+(?:https?://|www\.|[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.\p{L}{2,}|[\p{L}\p{N}-]+\.(?:com|net|org|io|xyz|ru|info|biz)\b)`),
  },
  {
    id: 'exfil.tool',
    weight: { direct: 0.8, indirect: 0.97 },
    pattern: rx(
      [
        String.raw`\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+)?(?:\p{L}+_)*\p{L}*\s*(?:tool|function|plugin|api|webhook|command)\s*(?:\(|with|to|named|called)`,
        String.raw`\bexecute\s+(?:the\s+)?following\s+(?:command|code|script|query)\b`,
        String.raw`\b(?:python|linux|bash|sql|javascript|shell|unix)\s+(?:interpreter|terminal|console|shell)\b`,
        String.raw`\b(?:curl|wget)\s+(?:-\S+\s+)*https?://`,
        String.raw`\brm\s+-rf\b|\bdrop\s+table\b|\berase\s+(?:a|the|all)\s+(?:database|records?|files?)\b`,
      ].join('|'),
    ),
  },
  // — instructions addressed to the assistant inside third-party content —
  {
    id: 'indirect.addressed_to_assistant',
    weight: { direct: 0.35, indirect: 0.97 },
    pattern: rx(
      [
        String.raw`\b(?:in|into|to|within|throughout|from|of|for)\s+your\s+(?:response|reply|answer|message|output|summary|completion|responses|replies|answers)\b`,
        String.raw`${start}(?:please\s+)?\p{L}+\b[^.!?\n|]{0,80}\byour\s+(?:response|reply|answer|output|completion|responses|replies|answers)(?:'s)?\b`,
        String.raw`\byour\s+(?:response|reply|answer|output|completion)(?:'s)?\s+(?:\p{L}+\s+){0,3}(?:should|must|will|in|with|using|by|to|order|character|letters|words)\b`,
        String.raw`\b(?:modify|enhance|augment|change|alter|format|encode|encrypt|write|render|translate|provide|express|present|give|end|start|begin|sign)\s+(?:all\s+|each\s+|every\s+)?(?:of\s+)?your\s+(?:response|reply|answer|message|output|summary|responses|replies|answers)\b`,
        String.raw`\b(?:dear|hey|hello|hi|attention|note to (?:the)?|message (?:to|for) (?:the)?)\s*(?:ai|assistant|language model|chatbot|llm|gpt|chatgpt|claude|copilot|model|bot)\b`,
        String.raw`\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|assistant|language model|llm|chatbot|bot|model)\b`,
        String.raw`\b(?:ai|assistant|language model|llm|chatbot)\s*(?:reading|processing|summari[sz]ing)\s+this\b`,
        String.raw`\b(?:in|zu)\s+(?:deiner|ihrer)\s+antwort\b|\b(?:deine|ihre)\s+antwort\s+(?:soll|muss|in|auf)\b`,
      ].join('|'),
    ),
  },
  {
    id: 'indirect.task_request',
    weight: { direct: 0, indirect: 0.93 },
    pattern: rx(
      String.raw`${start}(?:please\s+|kindly\s+|now\s+|also\s+|bitte\s+)?(?:(?:write|compose|draft|explain|describe|summari[sz]e|analy[sz]e|translate|recommend|suggest|outline|paraphrase|rewrite|elaborate|brainstorm|discuss|define|compare|classify|calculate|solve|evaluate|assess|critique|proofread|generate|develop|produce|break down|walk me through|teach me|tell me|give me|show me|help me|find me|list|provide|determine|identify|predict|estimate|convert|decode|encode|encrypt|respond|answer|schreib\p{L}*|erkläre?|beschreib\p{L}*|fasse\s+\S+\s+zusammen|übersetz\p{L}*|empfiehl|nenne?|beantworte?|formulier\p{L}*|verfass\p{L}*|generier\p{L}*|erstell\p{L}*)\s+(?:a|an|the|me|my|us|some|your|this|that|how|why|what|who|when|which|in|with|for|all|each|every|ein\p{L}*|mir|uns|die|den|das|eine|wie|warum|was)\b|(?:create|make|erstelle)\s+(?:a|an|eine?n?)\s+(?:\p{L}+\s+){0,2}(?:poem|story|essay|speech|letter|script|song|list|summary|article|outline|plan|program|function|haiku|gedicht|geschichte|aufsatz|rede|brief|liste|zusammenfassung))`,
    ),
  },
  {
    id: 'indirect.question_to_assistant',
    weight: { direct: 0, indirect: 0.9 },
    pattern: rx(
      String.raw`${start}(?:(?:what|who|whom|whose|how|why|which|where|when|what's|how's|who's)\s+(?!(?:\S+\s+){0,6}(?:this|these|our|my)\s+(?:email|e-mail|message|notification|receipt|invoice|order|account|card|payment|subscription|newsletter|statement|transaction|charge|booking|ticket|reservation)\b)(?:[^\s?]+[ \t,]+){2,40}[^?\n]{0,160}\?|(?:can|could|would|will)\s+you\s+(?:please\s+)?(?:show|tell|give|explain|help|write|provide|list|recommend|suggest|describe|translate|summari[sz]e|classify|use|reply|answer|respond|make|create|generate|find)\b|(?:was|wer|wie|warum|wieso|weshalb|welche\p{L}*|wo|wann)\s+(?:[^\s?]+[ \t,]+){2,40}[^?\n]{0,160}\?)`,
    ),
  },
];

/**
 * The rules a text matches on `channel`, one hit per rule id (the highest weight among that
 * id's patterns), read over every normalised form.
 */
export function matchRules(forms: NormalisedText, channel: ScreeningChannel, rules: readonly InjectionRule[] = injectionRules): RuleHit[] {
  const texts = [forms.text, ...(forms.deobfuscated === forms.text ? [] : [forms.deobfuscated]), ...forms.decoded];
  const best = new Map<string, number>();
  for (const rule of rules) {
    const weight = rule.weight[channel];
    if (weight <= 0 || (best.get(rule.id) ?? 0) >= weight) continue;
    if (texts.some((text) => rule.pattern.test(text))) best.set(rule.id, weight);
  }
  const signals = forms.signals;
  // Hiding text from a reader is itself a sign: invisible characters, look-alike letters or an encoded instruction.
  const hidden = (signals.invisible > 0 ? 1 : 0) + (signals.lookalikes > 0 ? 1 : 0) + (signals.base64 > 0 && best.size > 0 ? 1 : 0) + (signals.rot13 ? 1 : 0);
  if (hidden > 0) best.set('obfuscation.hidden_text', channel === 'direct' ? 0.3 * hidden : 0.5 * hidden);
  return [...best].map(([id, weight]) => ({ id, weight: Math.min(weight, 0.99) })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
