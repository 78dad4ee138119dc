CREATE TABLE `personas` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_org_id` text,
	`name` text NOT NULL,
	`vertical` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`system_prompt` text NOT NULL,
	`greeting` text,
	`language` text DEFAULT 'en' NOT NULL,
	`default_avatar_id` text,
	`default_voice_id` text NOT NULL,
	`model` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`owner_org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`default_avatar_id`) REFERENCES `avatars`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "personas_vertical_check" CHECK("personas"."vertical" IN ('education', 'support', 'sales', 'healthcare', 'hospitality', 'recruiting', 'finance', 'coaching'))
);
--> statement-breakpoint
CREATE INDEX `personas_created_idx` ON `personas` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `personas_vertical_idx` ON `personas` (`vertical`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `personas_owner_idx` ON `personas` (`owner_org_id`,`created_at`,`id`);