// Nothing for avatar-cache: its React entry is a client module ("use client") and loads the
// WebAssembly in the browser only.
/** @type {import('next').NextConfig} */
export default {};
