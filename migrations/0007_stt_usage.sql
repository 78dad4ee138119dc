-- D1 ignores PRAGMA foreign_keys in a migration; nothing references usage, and deferring covers the copy.
PRAGMA defer_foreign_keys = true;--> statement-breakpoint
CREATE TABLE `__new_usage` (
	`org_id` text NOT NULL,
	`day` text NOT NULL,
	`metric` text NOT NULL,
	`quantity` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`org_id`, `day`, `metric`),
	FOREIGN KEY (`org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "usage_metric_check" CHECK("__new_usage"."metric" IN ('tts_characters', 'conversation_seconds', 'llm_input_tokens', 'llm_output_tokens', 'stt_seconds'))
);
--> statement-breakpoint
INSERT INTO `__new_usage`("org_id", "day", "metric", "quantity") SELECT "org_id", "day", "metric", "quantity" FROM `usage`;--> statement-breakpoint
DROP TABLE `usage`;--> statement-breakpoint
ALTER TABLE `__new_usage` RENAME TO `usage`;