CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`org_id` text NOT NULL,
	`name` text NOT NULL,
	`mode` text NOT NULL,
	`key_hash` text NOT NULL,
	`prefix` text NOT NULL,
	`last4` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer,
	`revoked_at` integer,
	FOREIGN KEY (`org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "api_keys_mode_check" CHECK("api_keys"."mode" IN ('live', 'test'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_org_created_idx` ON `api_keys` (`org_id`,`created_at`,`id`);--> statement-breakpoint
CREATE TABLE `avatar_favorites` (
	`org_id` text NOT NULL,
	`avatar_id` text NOT NULL,
	`created_at` integer DEFAULT (unixepoch() * 1000) NOT NULL,
	PRIMARY KEY(`org_id`, `avatar_id`),
	FOREIGN KEY (`org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`avatar_id`) REFERENCES `avatars`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `avatars` (
	`id` text PRIMARY KEY NOT NULL,
	`owner_org_id` text,
	`parent_id` text,
	`name` text NOT NULL,
	`is_demo` integer DEFAULT false NOT NULL,
	`is_public` integer DEFAULT false NOT NULL,
	`active` integer DEFAULT true NOT NULL,
	`status` text NOT NULL,
	`runtime_type` text NOT NULL,
	`preview_img_url` text,
	`video_url` text,
	`model_asset_key` text,
	`model_format` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`owner_org_id`) REFERENCES `orgs`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`parent_id`) REFERENCES `avatars`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "avatars_status_check" CHECK("avatars"."status" IN ('ready', 'processing', 'failed')),
	CONSTRAINT "avatars_runtime_type_check" CHECK("avatars"."runtime_type" IN ('mock', 'gaussian')),
	CONSTRAINT "avatars_model_format_check" CHECK("avatars"."model_format" IS NULL OR "avatars"."model_format" IN ('splat', 'ply', 'glb', 'json'))
);
--> statement-breakpoint
CREATE INDEX `avatars_created_idx` ON `avatars` (`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `avatars_parent_idx` ON `avatars` (`parent_id`);--> statement-breakpoint
CREATE INDEX `avatars_owner_idx` ON `avatars` (`owner_org_id`);--> statement-breakpoint
CREATE TABLE `orgs` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`tier` text DEFAULT 'free' NOT NULL,
	`rate_limit_per_minute` integer,
	`created_at` integer NOT NULL,
	CONSTRAINT "orgs_tier_check" CHECK("orgs"."tier" IN ('free', 'creator', 'pro', 'enterprise'))
);
