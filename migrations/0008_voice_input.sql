-- Voice input: how a conversation listens (a JSON object; rows from before it read as the defaults), and a persona's speech-to-text.
ALTER TABLE `conversations` ADD `voice_input` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
ALTER TABLE `personas` ADD `stt` text;